/**
 * Finding the heaplens language server.
 *
 * The order, first match wins:
 *   1. the setting `heaplens.server.path`: a `heaplens` executable, run as `<path> serve`;
 *   2. the setting `heaplens.server.python`: run as `<python> -m heaplens serve`;
 *   3. the interpreter selected in the Python extension, when it is installed (skipped in an
 *      untrusted workspace: that interpreter may live in the workspace);
 *   4. `python3` (`python` on Windows) from PATH;
 *   5. a `heaplens` executable on PATH (a pipx or `pip install --user` install).
 *
 * A Python candidate counts only when it really imports heaplens's server (checked with a
 * short-lived `python -c`, under a timeout). The two settings are the user's explicit
 * choice: when one is set and does not work, discovery stops there with an error naming the
 * setting rather than silently running something else.
 *
 * This module never imports `vscode` or spawns anything itself: the host does the I/O.
 */

export interface ServerCommand {
  command: string;
  args: string[];
  /** Where the command came from, for the output channel. */
  source: string;
  /** The heaplens version a probe reported, when there was a probe. */
  version?: string;
}

export interface Attempt {
  source: string;
  detail: string;
}

export interface Discovery {
  server?: ServerCommand;
  /** Everything tried before (and including) the answer, with why it was not used. */
  tried: Attempt[];
  /** Set when an explicit setting is wrong: name it to the user. */
  settingProblem?: string;
}

export type ProbeResult = { ok: true; version: string } | { ok: false; error: string };

export interface DiscoveryHost {
  platform: NodeJS.Platform;
  home: string;
  /** The first workspace folder, for `${workspaceFolder}` and relative paths. */
  workspaceFolder?: string;
  /**
   * The absolute path of an executable file: a path with a separator is checked as it is,
   * a bare name is looked up on PATH. Undefined when there is none.
   */
  resolveExecutable(pathOrName: string): Promise<string | undefined>;
  /** Does this interpreter (a command line: program and leading arguments) import heaplens? */
  probePython(command: string[]): Promise<ProbeResult>;
  /** The Python extension's interpreter as a command line, undefined without one. */
  pythonExtensionInterpreter(): Promise<string[] | undefined>;
}

export interface DiscoverySettings {
  serverPath: string;
  python: string;
  workspaceTrusted: boolean;
}

export const SERVE_ARGS = ['serve'];
export const PYTHON_ARGS = ['-m', 'heaplens', 'serve'];

export async function discoverServer(
  settings: DiscoverySettings,
  host: DiscoveryHost,
): Promise<Discovery> {
  const tried: Attempt[] = [];

  const serverPath = expandPath(settings.serverPath.trim(), host);
  if (serverPath) {
    const source = 'setting heaplens.server.path';
    const found = await host.resolveExecutable(serverPath);
    if (found) {
      return { server: { command: found, args: [...SERVE_ARGS], source }, tried };
    }
    tried.push({ source, detail: `${serverPath} is not an executable file` });
    return {
      tried,
      settingProblem: `heaplens.server.path is set to "${serverPath}", which is not an executable file.`,
    };
  }

  const python = expandPath(settings.python.trim(), host);
  if (python) {
    const source = 'setting heaplens.server.python';
    const result = await tryPython([python], source, host, tried);
    if (result) {
      return { server: result, tried };
    }
    const why = tried[tried.length - 1].detail;
    return {
      tried,
      settingProblem: `heaplens.server.python is set to "${python}", which cannot run heaplens: ${why}.`,
    };
  }

  const pySource = 'the Python extension’s interpreter';
  if (!settings.workspaceTrusted) {
    tried.push({ source: pySource, detail: 'not used in an untrusted workspace' });
  } else {
    let interpreter: string[] | undefined;
    let unreadable: string | undefined;
    try {
      interpreter = await host.pythonExtensionInterpreter();
    } catch (e) {
      unreadable = `could not be read (${String(e)})`;
    }
    if (unreadable) {
      tried.push({ source: pySource, detail: unreadable });
    } else if (!interpreter || interpreter.length === 0) {
      tried.push({ source: pySource, detail: 'none selected, or the Python extension is not installed' });
    } else {
      const result = await tryPython(interpreter, pySource, host, tried);
      if (result) {
        return { server: result, tried };
      }
    }
  }

  const defaultPython = host.platform === 'win32' ? 'python' : 'python3';
  const fromPath = await tryPython([defaultPython], `${defaultPython} on PATH`, host, tried);
  if (fromPath) {
    return { server: fromPath, tried };
  }

  const exe = await host.resolveExecutable('heaplens');
  if (exe) {
    return { server: { command: exe, args: [...SERVE_ARGS], source: 'heaplens on PATH' }, tried };
  }
  tried.push({ source: 'heaplens on PATH', detail: 'not found' });
  return { tried };
}

async function tryPython(
  command: string[],
  source: string,
  host: DiscoveryHost,
  tried: Attempt[],
): Promise<ServerCommand | undefined> {
  const program = await host.resolveExecutable(command[0]);
  if (!program) {
    tried.push({ source, detail: `${command[0]} not found` });
    return undefined;
  }
  const line = [program, ...command.slice(1)];
  const probe = await host.probePython(line);
  if (!probe.ok) {
    tried.push({ source, detail: `${line.join(' ')}: ${probe.error}` });
    return undefined;
  }
  return {
    command: program,
    args: [...command.slice(1), ...PYTHON_ARGS],
    source,
    version: probe.version,
  };
}

/**
 * `~`, `${userHome}` and `${workspaceFolder}` in a path setting, as the Go extension allows;
 * a relative path with a separator is taken from the first workspace folder. A bare name
 * (`heaplens`, `python3.12`) is left for the PATH lookup.
 */
export function expandPath(value: string, host: Pick<DiscoveryHost, 'home' | 'workspaceFolder' | 'platform'>): string {
  if (!value) {
    return value;
  }
  let out = value.replace(/\$\{userHome\}/g, host.home);
  if (host.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, host.workspaceFolder);
  }
  if (out === '~' || out.startsWith('~/') || (host.platform === 'win32' && out.startsWith('~\\'))) {
    out = host.home + out.slice(1);
  }
  const sep = host.platform === 'win32' ? /[\\/]/ : /\//;
  const absolute = host.platform === 'win32' ? /^([a-zA-Z]:)?[\\/]/.test(out) : out.startsWith('/');
  if (!absolute && sep.test(out) && host.workspaceFolder !== undefined) {
    const join = host.platform === 'win32' ? '\\' : '/';
    out = host.workspaceFolder.replace(/[\\/]$/, '') + join + out.replace(/^\.[\\/]/, '');
  }
  return out;
}

/** The error shown when nothing was found: what was tried, and what to do. */
export function notFoundMessage(discovery: Discovery): string {
  if (discovery.settingProblem) {
    return `heaplens: ${discovery.settingProblem}`;
  }
  return (
    'heaplens: cannot find the heaplens language server. Install it into a Python 3.10+ ' +
    'environment (pip install heaplens), then point heaplens.server.path at its heaplens ' +
    'executable or heaplens.server.python at its interpreter.'
  );
}
