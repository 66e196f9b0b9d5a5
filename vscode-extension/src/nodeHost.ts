/**
 * The parts of server discovery that touch the machine: looking files up on PATH and
 * asking a Python interpreter whether it has heaplens. Plain Node, no `vscode`.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import type { ProbeResult } from './discovery';

/** How long a Python interpreter may take to import heaplens's server. */
export const PROBE_TIMEOUT_MS = 10_000;

/** Imports the server module too, so a heaplens without its server dependencies is refused. */
export const PROBE_CODE = 'import heaplens, heaplens.lsp.server; print(heaplens.__version__)';

async function isExecutableFile(file: string, platform: NodeJS.Platform): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) {
      return false;
    }
    if (platform !== 'win32') {
      await fs.access(file, fsConstants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of an executable: a path with a separator is checked as it is, a bare
 * name is searched on `PATH` (with `PATHEXT` on Windows).
 */
export async function resolveExecutable(
  pathOrName: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  if (!pathOrName) {
    return undefined;
  }
  const exts =
    platform === 'win32'
      ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter(Boolean)]
      : [''];
  const hasSeparator = platform === 'win32' ? /[\\/]/.test(pathOrName) : pathOrName.includes('/');
  if (hasSeparator) {
    for (const ext of exts) {
      if (await isExecutableFile(pathOrName + ext, platform)) {
        return path.resolve(pathOrName + ext);
      }
    }
    return undefined;
  }
  const dirs = (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = path.join(dir, pathOrName + ext);
      if (await isExecutableFile(candidate, platform)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** Runs `<python> -c PROBE_CODE` under a timeout: the heaplens version, or why not. */
export function probePython(
  command: string[],
  timeoutMs: number = PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  return probe([...command, '-c', PROBE_CODE], timeoutMs);
}

/**
 * Runs `<python> [-I] .../bundled/launch.py --probe`: the launcher puts the bundled
 * libraries on sys.path, imports the server and prints its version; it refuses a Python
 * older than 3.10 or one the bundled compiled libraries were not built for, saying so.
 */
export function probeBundled(command: string[], timeoutMs: number = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  return probe([...command, '--probe'], timeoutMs);
}

/** The bundled server's launcher inside the installed extension, when the package has one. */
export function bundledLauncher(extensionPath: string): string | undefined {
  const launcher = path.join(extensionPath, 'bundled', 'launch.py');
  return existsSync(launcher) ? launcher : undefined;
}

function probe(line: string[], timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const [program, ...args] = line;
    execFile(
      program,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          const version = stdout.trim().split(/\r?\n/).pop() ?? '';
          resolve({ ok: true, version });
          return;
        }
        const e = error as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') {
          resolve({ ok: false, error: 'not found' });
        } else if (e.killed) {
          resolve({ ok: false, error: `no answer within ${Math.round(timeoutMs / 1000)} s` });
        } else {
          const last = stderr.trim().split(/\r?\n/).pop();
          resolve({ ok: false, error: last || e.message });
        }
      },
    );
  });
}
