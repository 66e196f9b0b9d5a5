/**
 * What `npm run package` put into the .vsix: the bundle, package.json, README, LICENSE;
 * no TypeScript, no sources, no tests, no node_modules (the bundle already holds the one
 * runtime dependency, vscode-languageclient), no dev dependencies.
 */
import { strict as assert } from 'node:assert';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';

const EXTENSION_DIR = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));
const VSIX = process.env.HEAPLENS_VSIX ?? path.join(EXTENSION_DIR, `${pkg.name}-${pkg.version}.vsix`);

interface Entry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
}

/** The entries of a zip file, from its central directory. */
function zipEntries(zip: Buffer): Entry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, 'the .vsix is a zip file');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: Entry[] = [];
  for (let n = 0; n < count; n++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      localOffset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function contents(zip: Buffer, entry: Entry): Buffer {
  const local = entry.localOffset;
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  return entry.method === 0 ? data : inflateRawSync(data);
}

describe(`the packaged extension (${path.basename(VSIX)})`, () => {
  const zip = readFileSync(VSIX);
  const entries = zipEntries(zip);
  const names = entries.map((e) => e.name);
  const file = (name: string) => {
    const entry = entries.find((e) => e.name === name);
    assert.ok(entry, `${name} is in the .vsix`);
    return contents(zip, entry);
  };

  it('lists its contents', () => {
    console.log(names.join('\n'));
    assert.ok(names.length > 0);
  });

  it('has the compiled bundle, package.json, README and LICENSE', () => {
    for (const name of [
      'extension.vsixmanifest',
      'extension/package.json',
      'extension/dist/extension.js',
      'extension/readme.md',
      'extension/LICENSE.txt',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
    assert.match(file('extension/readme.md').toString('utf8'), /^# heaplens for VS Code/);
    assert.match(file('extension/LICENSE.txt').toString('utf8'), /^MIT License/);
  });

  it('runs the bundle that package.json names', () => {
    const manifest = JSON.parse(file('extension/package.json').toString('utf8'));
    assert.equal(manifest.main, './dist/extension.js');
    assert.equal(manifest.version, pkg.version);
    assert.deepEqual(manifest.activationEvents, ['onLanguage:go']);
  });

  it('has no TypeScript, sources, source maps, tests or node_modules', () => {
    const unwanted = names.filter(
      (n) =>
        /\.(ts|tsx|map)$/.test(n) ||
        /(^|\/)(src|test|out|node_modules|scripts|test-results)\//.test(n) ||
        /(^|\/)(tsconfig[^/]*\.json|esbuild\.mjs|package-lock\.json|\.vscodeignore|\.gitignore)$/.test(n),
    );
    assert.deepEqual(unwanted, []);
    assert.deepEqual(
      names.filter((n) => n.startsWith('extension/')).sort(),
      [
        'extension/LICENSE.txt',
        'extension/changelog.md',
        'extension/dist/extension.js',
        'extension/package.json',
        'extension/readme.md',
      ],
    );
  });

  it('bundles its runtime dependency and no dev dependency: it requires only vscode and Node', () => {
    const bundle = file('extension/dist/extension.js').toString('utf8');
    const required = new Set([...bundle.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]));
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const foreign = [...required].filter((r) => r !== 'vscode' && !builtins.has(r));
    assert.deepEqual(foreign, []);
    assert.ok(required.has('vscode'));
    assert.ok(bundle.includes('workspace/didChangeConfiguration'), 'vscode-languageclient is in the bundle');
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.ok(!names.some((n) => n.includes(`/${dev}/`)), `${dev} is not packaged`);
    }
    assert.ok(!/playwright|esbuild|typescript\/lib/.test(bundle), 'no dev dependency code in the bundle');
  });
});
