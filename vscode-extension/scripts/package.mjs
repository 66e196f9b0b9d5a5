// Packages the self-contained, platform-specific .vsix files.
//   node scripts/package.mjs            this machine's target (npm run package)
//   node scripts/package.mjs --all      every target (npm run package:all)
//   node scripts/package.mjs T...       the named targets (linux-x64, darwin-arm64, ...)
// For each target, scripts/bundle.py builds the server and its Python libraries into
// .cache/bundle/<target> (all targets at once, in parallel); that tree is copied to bundled/
// and `vsce package --target` writes heaplens-<target>-<version>.vsix.
// HEAPLENS_BUNDLE_PYTHON names the Python that runs bundle.py (it needs pip; default python3).
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const EXT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];
const pkg = JSON.parse(readFileSync(path.join(EXT, 'package.json'), 'utf8'));

function localTarget() {
  const target = `${process.platform}-${process.arch}`;
  if (!TARGETS.includes(target)) {
    throw new Error(`no .vsix target for this machine (${target}); name one of ${TARGETS.join(', ')}`);
  }
  return target;
}

const args = process.argv.slice(2);
const targets = args.includes('--all') ? TARGETS : args.length > 0 ? args : [localTarget()];
for (const t of targets) {
  if (!TARGETS.includes(t)) {
    throw new Error(`unknown target ${t}; one of ${TARGETS.join(', ')}`);
  }
}

const python = process.env.HEAPLENS_BUNDLE_PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
const cache = path.join(EXT, '.cache', 'bundle');
const started = Date.now();
execFileSync(python, [path.join(EXT, 'scripts', 'bundle.py'), '--out', cache, ...targets], {
  stdio: 'inherit',
});
console.log(`bundled ${targets.length} target(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const vsce = path.join(EXT, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
const bundled = path.join(EXT, 'bundled');
for (const target of targets) {
  rmSync(bundled, { recursive: true, force: true });
  cpSync(path.join(cache, target), bundled, { recursive: true });
  const out = path.join(EXT, `${pkg.name}-${target}-${pkg.version}.vsix`);
  execFileSync(
    vsce,
    ['package', '--no-dependencies', '--allow-missing-repository', '--target', target, '--out', out],
    { cwd: EXT, stdio: 'inherit' },
  );
  console.log(`${path.basename(out)}: ${(statSync(out).size / 1e6).toFixed(1)} MB`);
}
// bundled/ stays only for a single local build: the extension run from this folder (F5)
// then uses it. After several targets it would hold the last one, which may not run here.
if (targets.length > 1) {
  rmSync(bundled, { recursive: true, force: true });
}
console.log(`packaged ${targets.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
