import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  DiscoveryHost,
  DiscoverySettings,
  discoverServer,
  expandPath,
  NO_PYTHON_MESSAGE,
  notFoundMessage,
  ProbeResult,
} from '../../src/discovery';
import { bundledLauncher, PROBE_CODE, probeBundled, probePython, resolveExecutable } from '../../src/nodeHost';
import { heaplensPython } from './helpers';

/** A host whose machine is a table: executables by name, and which interpreters have heaplens. */
function fakeHost(opts: {
  executables?: Record<string, string>;
  heaplensIn?: Record<string, string>;
  pythonExtension?: string[] | Error;
  platform?: NodeJS.Platform;
  workspaceFolder?: string;
  /** With a bundled server: which interpreter command lines run it, and why others do not. */
  bundle?: { runs: string[]; refuses?: Record<string, string> };
}): DiscoveryHost & { probes: string[][]; pythonExtensionAsked: number; bundleProbes: string[][] } {
  const host = {
    platform: opts.platform ?? 'linux',
    bundleProbes: [] as string[][],
    bundledLauncher: opts.bundle ? '/ext/bundled/launch.py' : undefined,
    probeBundled: opts.bundle
      ? async (command: string[]): Promise<ProbeResult> => {
          host.bundleProbes.push(command);
          const line = command.join(' ');
          if (opts.bundle?.runs.includes(line)) {
            return { ok: true, version: '0.1.0' };
          }
          return { ok: false, error: opts.bundle?.refuses?.[line] ?? 'heaplens: Python 3.8 is too old' };
        }
      : undefined,
    home: '/home/u',
    workspaceFolder: opts.workspaceFolder,
    probes: [] as string[][],
    pythonExtensionAsked: 0,
    async resolveExecutable(p: string) {
      return opts.executables?.[p];
    },
    async probePython(command: string[]): Promise<ProbeResult> {
      host.probes.push(command);
      const version = opts.heaplensIn?.[command.join(' ')];
      return version ? { ok: true, version } : { ok: false, error: "No module named 'heaplens'" };
    },
    async pythonExtensionInterpreter() {
      host.pythonExtensionAsked += 1;
      if (opts.pythonExtension instanceof Error) {
        throw opts.pythonExtension;
      }
      return opts.pythonExtension;
    },
  };
  return host;
}

const none: DiscoverySettings = { serverPath: '', python: '', workspaceTrusted: true };

describe('server discovery', () => {
  it('1. uses heaplens.server.path first, without probing anything', async () => {
    const host = fakeHost({
      executables: { '/opt/hl/bin/heaplens': '/opt/hl/bin/heaplens', python3: '/usr/bin/python3' },
      heaplensIn: { '/usr/bin/python3': '0.1.0' },
      pythonExtension: ['/venv/bin/python'],
    });
    const d = await discoverServer({ ...none, serverPath: '/opt/hl/bin/heaplens' }, host);
    assert.deepEqual(d.server, {
      command: '/opt/hl/bin/heaplens',
      args: ['serve'],
      source: 'setting heaplens.server.path',
    });
    assert.equal(host.probes.length, 0);
    assert.equal(host.pythonExtensionAsked, 0);
  });

  it('stops with a named error when heaplens.server.path is not an executable', async () => {
    const host = fakeHost({ executables: { python3: '/usr/bin/python3' }, heaplensIn: { '/usr/bin/python3': '0.1.0' } });
    const d = await discoverServer({ ...none, serverPath: '/nope/heaplens' }, host);
    assert.equal(d.server, undefined);
    assert.match(d.settingProblem ?? '', /heaplens\.server\.path is set to "\/nope\/heaplens"/);
    assert.match(notFoundMessage(d), /^heaplens: heaplens\.server\.path/);
    assert.equal(host.probes.length, 0, 'an explicit setting is not silently replaced');
  });

  it('expands ~, ${userHome} and ${workspaceFolder} in heaplens.server.path', async () => {
    const host = fakeHost({
      executables: { '/ws/.venv/bin/heaplens': '/ws/.venv/bin/heaplens' },
      workspaceFolder: '/ws',
    });
    const d = await discoverServer({ ...none, serverPath: '${workspaceFolder}/.venv/bin/heaplens' }, host);
    assert.equal(d.server?.command, '/ws/.venv/bin/heaplens');
    const h = { home: '/home/u', workspaceFolder: '/ws', platform: 'linux' as const };
    assert.equal(expandPath('~/bin/heaplens', h), '/home/u/bin/heaplens');
    assert.equal(expandPath('${userHome}/x', h), '/home/u/x');
    assert.equal(expandPath('.venv/bin/heaplens', h), '/ws/.venv/bin/heaplens');
    assert.equal(expandPath('./bin/heaplens', h), '/ws/bin/heaplens');
    assert.equal(expandPath('heaplens', h), 'heaplens', 'a bare name is left for PATH');
    assert.equal(expandPath('/abs/heaplens', h), '/abs/heaplens');
  });

  it('2. runs heaplens.server.python as `python -m heaplens serve` when it has heaplens', async () => {
    const host = fakeHost({
      executables: { '/py/bin/python': '/py/bin/python' },
      heaplensIn: { '/py/bin/python': '0.1.0' },
      pythonExtension: ['/venv/bin/python'],
    });
    const d = await discoverServer({ ...none, python: '/py/bin/python' }, host);
    assert.deepEqual(d.server, {
      command: '/py/bin/python',
      args: ['-m', 'heaplens', 'serve'],
      source: 'setting heaplens.server.python',
      version: '0.1.0',
    });
    assert.equal(host.pythonExtensionAsked, 0);
  });

  it('stops with a named error when heaplens.server.python has no heaplens', async () => {
    const host = fakeHost({
      executables: { '/py/bin/python': '/py/bin/python', python3: '/usr/bin/python3' },
      heaplensIn: { '/usr/bin/python3': '0.1.0' },
    });
    const d = await discoverServer({ ...none, python: '/py/bin/python' }, host);
    assert.equal(d.server, undefined);
    assert.match(d.settingProblem ?? '', /heaplens\.server\.python .*No module named 'heaplens'/);
  });

  it('3. uses the Python extension’s interpreter, with its leading arguments', async () => {
    const host = fakeHost({
      executables: { conda: '/opt/conda/bin/conda', python3: '/usr/bin/python3' },
      heaplensIn: { '/opt/conda/bin/conda run -n hl python': '0.1.0', '/usr/bin/python3': '0.1.0' },
      pythonExtension: ['conda', 'run', '-n', 'hl', 'python'],
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.command, '/opt/conda/bin/conda');
    assert.deepEqual(d.server?.args, ['run', '-n', 'hl', 'python', '-m', 'heaplens', 'serve']);
    assert.equal(d.server?.source, 'the Python extension’s interpreter');
  });

  it('4. falls back to python3 when the Python extension’s interpreter has no heaplens', async () => {
    const host = fakeHost({
      executables: { '/venv/bin/python': '/venv/bin/python', python3: '/usr/bin/python3' },
      heaplensIn: { '/usr/bin/python3': '0.1.0' },
      pythonExtension: ['/venv/bin/python'],
    });
    const d = await discoverServer(none, host);
    assert.deepEqual(host.probes, [['/venv/bin/python'], ['/usr/bin/python3']]);
    assert.equal(d.server?.command, '/usr/bin/python3');
    assert.deepEqual(d.server?.args, ['-m', 'heaplens', 'serve']);
    assert.deepEqual(
      d.tried.map((t) => t.source),
      ['the Python extension’s interpreter'],
    );
    assert.match(d.tried[0].detail, /No module named 'heaplens'/);
  });

  it('does not ask the Python extension in an untrusted workspace', async () => {
    const host = fakeHost({
      executables: { '/ws/.venv/bin/python': '/ws/.venv/bin/python', python3: '/usr/bin/python3' },
      heaplensIn: { '/ws/.venv/bin/python': '0.1.0', '/usr/bin/python3': '0.1.0' },
      pythonExtension: ['/ws/.venv/bin/python'],
    });
    const d = await discoverServer({ ...none, workspaceTrusted: false }, host);
    assert.equal(host.pythonExtensionAsked, 0);
    assert.equal(d.server?.command, '/usr/bin/python3');
    assert.match(d.tried[0].detail, /untrusted/);
  });

  it('carries on when the Python extension fails or has no interpreter', async () => {
    for (const pythonExtension of [new Error('boom'), undefined, []]) {
      const host = fakeHost({
        executables: { python3: '/usr/bin/python3' },
        heaplensIn: { '/usr/bin/python3': '0.1.0' },
        pythonExtension,
      });
      const d = await discoverServer(none, host);
      assert.equal(d.server?.command, '/usr/bin/python3');
      assert.equal(d.tried.length, 1);
    }
  });

  it('5. falls back to heaplens on PATH, and fails with everything it tried', async () => {
    const onPath = fakeHost({
      executables: { python3: '/usr/bin/python3', heaplens: '/home/u/.local/bin/heaplens' },
    });
    const d = await discoverServer(none, onPath);
    assert.deepEqual(d.server, { command: '/home/u/.local/bin/heaplens', args: ['serve'], source: 'heaplens on PATH' });

    const nothing = await discoverServer(none, fakeHost({}));
    assert.equal(nothing.server, undefined);
    assert.equal(nothing.settingProblem, undefined);
    assert.deepEqual(
      nothing.tried.map((t) => t.source),
      ['the Python extension’s interpreter', 'python3 on PATH', 'heaplens on PATH'],
    );
    const message = notFoundMessage(nothing);
    assert.match(message, /cannot find the heaplens language server/);
    assert.match(message, /heaplens\.server\.path/);
    assert.match(message, /heaplens\.server\.python/);
  });

  it('uses `python` on Windows', async () => {
    const host = fakeHost({
      platform: 'win32',
      executables: { python: 'C:\\Python312\\python.exe' },
      heaplensIn: { 'C:\\Python312\\python.exe': '0.1.0' },
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.command, 'C:\\Python312\\python.exe');
  });
});

describe('server discovery with the bundled server', () => {
  const launcher = '/ext/bundled/launch.py';

  it('runs the bundle with python3 from PATH, isolated, before any installed heaplens', async () => {
    const host = fakeHost({
      executables: { python3: '/usr/bin/python3', heaplens: '/home/u/.local/bin/heaplens' },
      heaplensIn: { '/usr/bin/python3': '0.0.9' },
      bundle: { runs: [`/usr/bin/python3 -I ${launcher}`] },
    });
    const d = await discoverServer(none, host);
    assert.deepEqual(d.server, {
      command: '/usr/bin/python3',
      args: ['-I', launcher, 'serve'],
      source: 'the bundled server, run by python3 on PATH',
      version: '0.1.0',
    });
    assert.equal(host.probes.length, 0, 'an installed heaplens is not even probed');
  });

  it('prefers the Python extension’s interpreter, with its leading arguments', async () => {
    const host = fakeHost({
      executables: { conda: '/opt/conda/bin/conda', python3: '/usr/bin/python3' },
      pythonExtension: ['conda', 'run', '-n', 'py312', 'python'],
      bundle: {
        runs: [`/opt/conda/bin/conda run -n py312 python -I ${launcher}`, `/usr/bin/python3 -I ${launcher}`],
      },
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.command, '/opt/conda/bin/conda');
    assert.deepEqual(d.server?.args, ['run', '-n', 'py312', 'python', '-I', launcher, 'serve']);
    assert.equal(host.pythonExtensionAsked, 1);
  });

  it('moves on from an interpreter the bundle refuses (too old), and skips the Python extension when untrusted', async () => {
    const host = fakeHost({
      executables: { '/venv38/bin/python': '/venv38/bin/python', python3: '/usr/bin/python3' },
      pythonExtension: ['/venv38/bin/python'],
      bundle: { runs: [`/usr/bin/python3 -I ${launcher}`] },
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.command, '/usr/bin/python3');
    assert.match(d.tried.map((t) => t.detail).join('\n'), /\/venv38\/bin\/python: heaplens: Python 3\.8 is too old/);

    const untrusted = fakeHost({
      executables: { '/ws/.venv/bin/python': '/ws/.venv/bin/python', python3: '/usr/bin/python3' },
      pythonExtension: ['/ws/.venv/bin/python'],
      bundle: { runs: [`/ws/.venv/bin/python -I ${launcher}`, `/usr/bin/python3 -I ${launcher}`] },
    });
    const u = await discoverServer({ ...none, workspaceTrusted: false }, untrusted);
    assert.equal(untrusted.pythonExtensionAsked, 0);
    assert.equal(u.server?.command, '/usr/bin/python3');
  });

  it('on Windows tries python, then py -3', async () => {
    const host = fakeHost({
      platform: 'win32',
      executables: { py: 'C:\\Windows\\py.exe' },
      bundle: { runs: [`C:\\Windows\\py.exe -3 -I ${launcher}`] },
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.command, 'C:\\Windows\\py.exe');
    assert.deepEqual(d.server?.args, ['-3', '-I', launcher, 'serve']);
    assert.equal(d.server?.source, 'the bundled server, run by py -3 on PATH');
  });

  it('the settings still win over the bundle', async () => {
    const host = fakeHost({
      executables: { '/opt/hl/bin/heaplens': '/opt/hl/bin/heaplens', '/py/bin/python': '/py/bin/python', python3: '/usr/bin/python3' },
      heaplensIn: { '/py/bin/python': '0.2.0' },
      bundle: { runs: [`/usr/bin/python3 -I ${launcher}`] },
    });
    const byPath = await discoverServer({ ...none, serverPath: '/opt/hl/bin/heaplens' }, host);
    assert.equal(byPath.server?.source, 'setting heaplens.server.path');
    const byPython = await discoverServer({ ...none, python: '/py/bin/python' }, host);
    assert.equal(byPython.server?.source, 'setting heaplens.server.python');
    assert.deepEqual(byPython.server?.args, ['-m', 'heaplens', 'serve']);
    assert.equal(host.bundleProbes.length, 0);
  });

  it('falls back to an installed heaplens when no interpreter runs the bundle', async () => {
    const host = fakeHost({
      executables: { python3: '/usr/bin/python3', heaplens: '/home/u/.local/bin/heaplens' },
      bundle: { runs: [], refuses: { [`/usr/bin/python3 -I ${launcher}`]: 'heaplens: this build of the extension has libraries for cp310, cp311, not for Python 3.15' } },
    });
    const d = await discoverServer(none, host);
    assert.equal(d.server?.source, 'heaplens on PATH');
  });

  it('says once, plainly, that Python 3.10 or newer is needed', async () => {
    const none1 = await discoverServer(none, fakeHost({ bundle: { runs: [] } }));
    assert.equal(none1.server, undefined);
    assert.deepEqual(none1.noPython, []);
    assert.equal(notFoundMessage(none1), NO_PYTHON_MESSAGE);
    assert.match(NO_PYTHON_MESSAGE, /^heaplens needs Python 3\.10 or newer: install it from python\.org or your package manager, or set heaplens\.server\.path\.$/);

    const old = await discoverServer(none, fakeHost({ executables: { python3: '/usr/bin/python3' }, bundle: { runs: [] } }));
    assert.equal(
      notFoundMessage(old),
      `${NO_PYTHON_MESSAGE} (found: /usr/bin/python3: heaplens: Python 3.8 is too old)`,
    );
  });
});

describe('the Node host (real files and processes)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'heaplens-discovery-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, body: string, mode = 0o755): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, mode);
    return file;
  };
  // Fake interpreters: they see exactly the arguments a real python would.
  const good = script('py-good', `[ "$1" = "-c" ] && [ "$2" = "${PROBE_CODE}" ] && echo 9.9.9 && exit 0; exit 3`);
  const bad = script(
    'py-bad',
    `echo 'Traceback (most recent call last):' >&2; echo "ModuleNotFoundError: No module named 'heaplens'" >&2; exit 1`,
  );
  const slow = script('py-slow', 'exec sleep 30');
  const plain = script('not-executable', 'exit 0', 0o644);

  it('finds executables by path and on PATH, never plain files', async () => {
    assert.equal(await resolveExecutable(good), good);
    assert.equal(await resolveExecutable(plain), undefined);
    assert.equal(await resolveExecutable(path.join(dir, 'missing')), undefined);
    assert.equal(await resolveExecutable('py-good', { PATH: `/nonexistent:${dir}` }, 'linux'), good);
    assert.equal(await resolveExecutable('not-executable', { PATH: dir }, 'linux'), undefined);
    assert.equal(await resolveExecutable(dir), undefined, 'a directory is not an executable');
  });

  it('probes an interpreter for heaplens, with a timeout', async () => {
    assert.deepEqual(await probePython([good]), { ok: true, version: '9.9.9' });
    assert.deepEqual(await probePython([bad]), {
      ok: false,
      error: "ModuleNotFoundError: No module named 'heaplens'",
    });
    assert.deepEqual(await probePython([path.join(dir, 'missing')]), { ok: false, error: 'not found' });
    const started = Date.now();
    const timedOut = await probePython([slow], 300);
    assert.equal(timedOut.ok, false);
    assert.match((timedOut as { error: string }).error, /no answer within/);
    assert.ok(Date.now() - started < 5000);
  });

  it('discovers python3 on PATH end to end with the real host', async () => {
    const bin = mkdtempSync(path.join(dir, 'bin-'));
    const py3 = path.join(bin, 'python3');
    writeFileSync(py3, `#!/bin/sh\nexec ${good} "$@"\n`);
    chmodSync(py3, 0o755);
    const env = { PATH: bin };
    const d = await discoverServer(none, {
      platform: 'linux',
      home: dir,
      resolveExecutable: (p) => resolveExecutable(p, env, 'linux'),
      probePython: (c) => probePython(c),
      pythonExtensionInterpreter: async () => [bad],
    });
    assert.deepEqual(d.server, {
      command: py3,
      args: ['-m', 'heaplens', 'serve'],
      source: 'python3 on PATH',
      version: '9.9.9',
    });
    assert.match(d.tried[0].detail, /No module named 'heaplens'/);
  });

  it('finds the bundled launcher in an extension folder and probes it with the real host', async () => {
    const ext = mkdtempSync(path.join(dir, 'ext-'));
    assert.equal(bundledLauncher(ext), undefined, 'a package without bundled/ has no launcher');
    const launcher = path.join(ext, 'bundled', 'launch.py');
    mkdirSync(path.dirname(launcher));
    writeFileSync(launcher, '');
    assert.equal(bundledLauncher(ext), launcher);
    // A fake interpreter that answers only the exact probe line the extension sends.
    const py = script('py-bundle', `[ "$1" = "-I" ] && [ "$2" = "${launcher}" ] && [ "$3" = "--probe" ] && echo 0.1.0 && exit 0; echo "heaplens: Python 3.8 is too old" >&2; exit 3`);
    assert.deepEqual(await probeBundled([py, '-I', launcher]), { ok: true, version: '0.1.0' });
    assert.deepEqual(await probeBundled([py, launcher]), { ok: false, error: 'heaplens: Python 3.8 is too old' });
  });
});

describe('a real heaplens install', () => {
  const python = heaplensPython();
  it('is accepted by the probe', { skip: python ? false : 'no Python with heaplens found' }, async () => {
    const result = await probePython([python as string]);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.match((result as { version: string }).version, /^\d+\.\d+/);
  });
});
