/**
 * What `npm run package` / `npm run package:all` put into each platform's .vsix
 * (heaplens-<target>-<version>.vsix): the bundle, package.json, README, LICENSE, and
 * bundled/ (the heaplens server, launch.py, and the Python libraries built for that target,
 * compiled ones for every CPython 3.10 to 3.14 and for that target's CPU); no TypeScript, no
 * sources, no tests, no workspace files, no node_modules (the bundle already holds the one
 * runtime dependency, vscode-languageclient), no dev dependencies, no Python caches.
 * The .vsix for this machine is also unpacked and its server run, by every CPython found
 * here, on examples/hotpath with the real go.
 *
 * HEAPLENS_VSIX (comma-separated) names the files; default: every heaplens-*-<version>.vsix
 * in the extension folder, which must include this machine's, and all five targets' with
 * HEAPLENS_VSIX_ALL=1.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';

const EXTENSION_DIR = path.resolve(__dirname, '..', '..', '..');
const REPO = path.resolve(EXTENSION_DIR, '..');
const pkg = JSON.parse(readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];
const PYTHONS = ['310', '311', '312', '313', '314'];
const VSIXES = process.env.HEAPLENS_VSIX
  ? process.env.HEAPLENS_VSIX.split(',')
  : readdirSync(EXTENSION_DIR)
      .filter((n) => n.startsWith(`${pkg.name}-`) && n.endsWith(`-${pkg.version}.vsix`))
      .map((n) => path.join(EXTENSION_DIR, n));
const LOCAL_TARGET = `${process.platform}-${process.arch}`;

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

/** The CPU a compiled Python module (ELF, Mach-O or PE) was built for. */
function machineOf(binary: Buffer): string {
  if (binary.readUInt32BE(0) === 0x7f454c46) {
    return { 0x3e: 'x86_64', 0xb7: 'aarch64' }[binary.readUInt16LE(18)] ?? 'elf?';
  }
  if (binary.readUInt32LE(0) === 0xfeedfacf) {
    return { 0x01000007: 'x86_64', 0x0100000c: 'arm64' }[binary.readUInt32LE(4)] ?? 'macho?';
  }
  if (binary.readUInt32BE(0) === 0xcafebabe) {
    return 'universal2';
  }
  if (binary.toString('latin1', 0, 2) === 'MZ') {
    const pe = binary.readUInt32LE(0x3c);
    return { 0x8664: 'amd64', 0xaa64: 'arm64' }[binary.readUInt16LE(pe + 4)] ?? 'pe?';
  }
  return 'unknown';
}

/** Per target: the file name a CPython 3.XY extension module has, and the CPU it must be for. */
const NATIVE: Record<string, { module: (v: string) => RegExp; abi3: RegExp; machine: string[]; wheel: RegExp }> = {
  'linux-x64': {
    module: (v) => new RegExp(`\\.cpython-${v}-x86_64-linux-gnu\\.so$`),
    abi3: /\.abi3\.so$/,
    machine: ['x86_64'],
    wheel: /manylinux.*_x86_64$/,
  },
  'linux-arm64': {
    module: (v) => new RegExp(`\\.cpython-${v}-aarch64-linux-gnu\\.so$`),
    abi3: /\.abi3\.so$/,
    machine: ['aarch64'],
    wheel: /manylinux.*_aarch64$/,
  },
  'darwin-arm64': {
    module: (v) => new RegExp(`\\.cpython-${v}-darwin\\.so$`),
    abi3: /\.abi3\.so$/,
    machine: ['arm64', 'universal2'],
    wheel: /macosx_.*_(arm64|universal2)$/,
  },
  'darwin-x64': {
    module: (v) => new RegExp(`\\.cpython-${v}-darwin\\.so$`),
    abi3: /\.abi3\.so$/,
    machine: ['x86_64', 'universal2'],
    wheel: /macosx_.*_(x86_64|universal2|intel)$/,
  },
  'win32-x64': {
    module: (v) => new RegExp(`\\.cp${v}-win_amd64\\.pyd$`),
    abi3: /\.pyd$/,
    machine: ['amd64'],
    wheel: /win_amd64$/,
  },
};

/** CPython interpreters on this machine: python3 on PATH, pyenv's, /usr/bin's. */
function localPythons(): string[] {
  const found = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'python3'))) {
      found.add(path.join(dir, 'python3'));
      break;
    }
  }
  const pyenv = path.join(os.homedir(), '.pyenv', 'versions');
  if (existsSync(pyenv)) {
    for (const v of readdirSync(pyenv)) {
      const py = path.join(pyenv, v, 'bin', 'python3');
      if (existsSync(py)) {
        found.add(py);
      }
    }
  }
  if (existsSync('/usr/bin/python3')) {
    found.add('/usr/bin/python3');
  }
  return [...found];
}

it('there is a .vsix for this machine, or for every target', () => {
  const targets = VSIXES.map((v) => /-([a-z0-9]+-[a-z0-9]+)-\d+\.\d+\.\d+\.vsix$/.exec(v)?.[1]);
  assert.ok(VSIXES.length > 0, 'run npm run package (or package:all) first');
  // After `npm run package:all` (CI sets HEAPLENS_VSIX_ALL=1) all five must be there;
  // after `npm run package`, this machine's.
  const expected = process.env.HEAPLENS_VSIX_ALL ? [...TARGETS].sort() : [LOCAL_TARGET];
  assert.deepEqual(
    expected.filter((t) => !targets.includes(t)),
    [],
    `missing .vsix files (found ${targets.join(', ')})`,
  );
});

for (const VSIX of VSIXES) {
const target = /-([a-z0-9]+-[a-z0-9]+)-\d+\.\d+\.\d+\.vsix$/.exec(VSIX)?.[1] ?? '?';
describe(`the packaged extension (${path.basename(VSIX)})`, () => {
  const zip = readFileSync(VSIX);
  const entries = zipEntries(zip);
  const names = entries.map((e) => e.name);
  const file = (name: string) => {
    const entry = entries.find((e) => e.name === name);
    assert.ok(entry, `${name} is in the .vsix`);
    return contents(zip, entry);
  };
  const bundled = names.filter((n) => n.startsWith('extension/bundled/'));
  const native = NATIVE[target];

  it('is for a known target, and says so in its manifest', () => {
    assert.ok(TARGETS.includes(target), target);
    assert.match(file('extension.vsixmanifest').toString('utf8'), new RegExp(`TargetPlatform="${target}"`));
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

  it('carries the heaplens server and its launcher', () => {
    for (const name of ['launch.py', 'server/heaplens/__init__.py', 'server/heaplens/__main__.py',
      'server/heaplens/cli.py', 'server/heaplens/lsp/server.py', 'server/heaplens/fixes/__init__.py']) {
      assert.ok(names.includes(`extension/bundled/${name}`), name);
    }
    assert.equal(
      file('extension/bundled/server/heaplens/cli.py').toString('utf8'),
      readFileSync(path.join(REPO, 'server', 'heaplens', 'cli.py'), 'utf8'),
      'the server is this checkout’s',
    );
    const summary = JSON.parse(file('extension/bundled/bundle.json').toString('utf8'));
    assert.equal(summary.target, target);
  });

  it('carries every Python dependency, pure ones once in libs/common', () => {
    const common = (dir: string) => names.includes(`extension/bundled/libs/common/${dir}/__init__.py`);
    for (const dir of ['pygls', 'lsprotocol', 'cattrs', 'attrs', 'attr', 'tree_sitter_go']) {
      assert.ok(common(dir), `libs/common/${dir}`);
    }
    // watchdog is compiled on macOS only (its FSEvents module), pure elsewhere.
    const watchdog = target.startsWith('darwin') ? `extension/bundled/libs/cp312/watchdog/__init__.py` : 'extension/bundled/libs/common/watchdog/__init__.py';
    assert.ok(names.includes(watchdog), watchdog);
    assert.ok(names.includes('extension/bundled/libs/common/typing_extensions.py'));
    assert.ok(names.includes('extension/bundled/libs/common/exceptiongroup/__init__.py'), 'Python 3.10 needs exceptiongroup (cattrs)');
  });

  it(`has the compiled modules for ${target}, for every CPython 3.10 to 3.14`, () => {
    assert.ok(native, `no expectations for ${target}`);
    for (const v of PYTHONS) {
      const dir = `extension/bundled/libs/cp${v}/`;
      for (const pkgDir of ['tree_sitter', 'orjson']) {
        const modules = bundled.filter((n) => n.startsWith(`${dir}${pkgDir}/`) && native.module(v).test(n));
        assert.ok(modules.length > 0, `${dir}${pkgDir}: a module for CPython ${v} on ${target}`);
        for (const m of modules) {
          assert.ok(native.machine.includes(machineOf(file(m))), `${m} is for ${machineOf(file(m))}`);
        }
      }
      const foreign = bundled.filter((n) => n.startsWith(dir) && /\.(so|pyd)$/.test(n) && !native.module(v).test(n));
      assert.deepEqual(foreign, [], `cp${v} holds only CPython ${v} modules`);
    }
    const goBinding = bundled.filter((n) => n.startsWith('extension/bundled/libs/common/tree_sitter_go/') && native.abi3.test(n));
    assert.equal(goBinding.length, 1, 'tree_sitter_go’s abi3 binding');
    assert.ok(native.machine.includes(machineOf(file(goBinding[0]))));
    // A wheel may carry several platform tags (orjson: x86_64, arm64 and universal2 in one);
    // one of them must be this target's.
    for (const info of bundled.filter((n) => n.endsWith('.dist-info/WHEEL'))) {
      const tags = file(info).toString('utf8').split('\n').filter((l) => l.startsWith('Tag:'));
      const platforms = tags.map((t) => t.trim().split('-').pop() as string);
      assert.ok(platforms.length > 0 && platforms.some((p) => p === 'any' || native.wheel.test(p)), `${info}: ${tags.join(', ')}`);
    }
    assert.ok(!bundled.some((n) => /\/libs\/cp(39|315)\//.test(n)));
  });

  it('has no TypeScript, sources, tests, workspace files, caches or node_modules', () => {
    const unwanted = names.filter(
      (n) =>
        /\.(ts|tsx|map|go|pyc|pyo)$/.test(n) ||
        /(^|\/)(src|test|tests|out|node_modules|scripts|test-results|examples|bench|editors|\.venv|\.cache|__pycache__|bin)\//.test(n) ||
        /(^|\/)(go\.mod|go\.sum|pyproject\.toml|conftest\.py|tsconfig[^/]*\.json|esbuild\.mjs|package-lock\.json|\.vscodeignore|\.gitignore)$/.test(n),
    );
    assert.deepEqual(unwanted, []);
    const top = names.filter((n) => n.startsWith('extension/') && !n.startsWith('extension/bundled/')).sort();
    assert.deepEqual(top, [
      'extension/LICENSE.txt',
      'extension/changelog.md',
      'extension/dist/extension.js',
      'extension/package.json',
      'extension/readme.md',
    ]);
    const bundledTop = new Set(bundled.map((n) => n.split('/')[2]));
    assert.deepEqual([...bundledTop].sort(), ['bundle.json', 'launch.py', 'libs', 'server']);
    const libs = new Set(bundled.filter((n) => n.includes('/libs/')).map((n) => n.split('/')[3]));
    assert.deepEqual([...libs].sort(), ['common', ...PYTHONS.map((v) => `cp${v}`)]);
    const server = bundled.filter((n) => n.startsWith('extension/bundled/server/'));
    assert.ok(server.every((n) => n.startsWith('extension/bundled/server/heaplens/')), 'the server folder is heaplens only');
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

  describe('unpacked on this machine', { skip: target === LOCAL_TARGET ? false : `not a ${target} machine` }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'heaplens-vsix-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    for (const name of bundled.filter((n) => !n.endsWith('/'))) {
      const out = path.join(dir, name);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, file(name));
    }
    const launcher = path.join(dir, 'extension', 'bundled', 'launch.py');
    const workspace = path.join(dir, 'hotpath');
    mkdirSync(workspace);
    for (const f of readdirSync(path.join(REPO, 'examples', 'hotpath'))) {
      writeFileSync(path.join(workspace, f), readFileSync(path.join(REPO, 'examples', 'hotpath', f)));
    }
    const run = (python: string, args: string[]) =>
      spawnSync(python, ['-I', launcher, ...args], {
        encoding: 'utf8',
        timeout: 120_000,
        env: { PATH: `${path.dirname(process.execPath)}:/usr/local/go/bin:/usr/bin:/bin:${process.env.PATH}`, HOME: dir, HEAPLENS_CACHE_DIR: path.join(dir, 'cache') },
      });
    const version = (python: string) =>
      spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).stdout.trim();
    const pythons = localPythons();

    it('finds at least one CPython here', () => {
      assert.ok(pythons.length > 0);
    });
    for (const python of pythons) {
      it(`runs the server with ${python}, or says why not`, () => {
        const [major, minor] = version(python).split('.').map(Number);
        const probe = run(python, ['--probe']);
        if (major === 3 && minor < 10) {
          assert.equal(probe.status, 3, probe.stderr);
          assert.match(probe.stderr, /heaplens: Python 3\.\d+ is too old: heaplens needs Python 3\.10 or newer/);
          return;
        }
        assert.equal(probe.status, 0, probe.stderr);
        assert.equal(probe.stdout.trim(), pkg.version);
        const check = run(python, ['check', '--no-cache', '--format', 'json', workspace]);
        assert.ok(check.status === 0 || check.status === 1, `${check.status}: ${check.stderr}`);
        const report = JSON.parse(check.stdout);
        assert.ok(
          report.findings.some((f: { kind: string; subject: string }) => f.kind === 'escapes-to-heap' && f.subject === '&Config{...}'),
          'the bundled server finds the escape in hotpath.go',
        );
      });
    }
  });
});
}
