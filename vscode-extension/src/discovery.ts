/**
 * Finding the heaplens language server.
 *
 * The order, first match wins:
 *   1. the setting `heaplens.server.path`: a `heaplens` executable, run as `<path> serve`;
 *   2. the setting `heaplens.server.python`: run as `<python> -m heaplens serve`;
 *   3. the server bundled in the .vsix (`bundled/launch.py`, when the package has one), run
 *      as `<python> -I bundled/launch.py serve` by the first interpreter that can: the one
 *      selected in the Python extension (skipped in an untrusted workspace: that interpreter
 *      may live in the workspace), else `python3` on PATH (`python`, then `py -3`, on
 *      Windows). The bundle needs no install, so this is what a user gets by default;
 *   4. a Python with heaplens installed: the Python extension's interpreter, then `python3`
 *      (`python` on Windows) from PATH;
 *   5. a `heaplens` executable on PATH (a pipx or `pip install --user` install).
 *
 * A Python candidate counts only when it really runs heaplens's server (checked with a
 * short-lived probe, under a timeout): for the bundle, `launch.py --probe`, which also
 * refuses a Python older than 3.10 or one the bundled compiled libraries were not built
 * for. The two settings are the user's explicit choice: when one is set and does not work,
 * discovery stops there with an error naming the setting rather than silently running
 * something else.
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
  /**
   * Set when the package bundles the server but no interpreter could run it: what was
   * found and why it was refused (empty when there was no Python at all).
   */
  noPython?: Attempt[];
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
  /** The bundled server's launch.py, when this package carries one. */
  bundledLauncher?: string;
  /** Can this interpreter run the bundle (`<command> --probe`, command ending in launch.py)? */
  probeBundled?(command: string[]): Promise<ProbeResult>;
}

export interface DiscoverySettings {
  serverPath: string;
  python: string;
  workspaceTrusted: boolean;
}

export const SERVE_ARGS = ['serve'];
export const PYTHON_ARGS = ['-m', 'heaplens', 'serve'];
/** `-I`: the user's PYTHONPATH and user site-packages cannot shadow the bundled libraries. */
export const BUNDLED_PYTHON_FLAGS = ['-I'];
export const PY_EXT_SOURCE = 'the Python extension’s interpreter';

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

  const interpreter = await pythonExtension(settings, host, tried);
  if (host.bundledLauncher && host.probeBundled) {
    const refused: Attempt[] = [];
    const bundled = await tryBundled(interpreter, host.bundledLauncher, host, refused);
    tried.push(...refused);
    if (bundled) {
      return { server: bundled, tried };
    }
    const found = refused.filter((a) => !/ not found$/.test(a.detail));
    const legacy = await installedServer(interpreter, host, tried);
    return legacy ? { server: legacy, tried } : { tried, noPython: found };
  }
  const legacy = await installedServer(interpreter, host, tried);
  return legacy ? { server: legacy, tried } : { tried };
}

/** The Python extension's interpreter, once per discovery; why not is noted in `tried`. */
async function pythonExtension(
  settings: DiscoverySettings,
  host: DiscoveryHost,
  tried: Attempt[],
): Promise<string[] | undefined> {
  if (!settings.workspaceTrusted) {
    tried.push({ source: PY_EXT_SOURCE, detail: 'not used in an untrusted workspace' });
    return undefined;
  }
  let interpreter: string[] | undefined;
  try {
    interpreter = await host.pythonExtensionInterpreter();
  } catch (e) {
    tried.push({ source: PY_EXT_SOURCE, detail: `could not be read (${String(e)})` });
    return undefined;
  }
  if (!interpreter || interpreter.length === 0) {
    tried.push({ source: PY_EXT_SOURCE, detail: 'none selected, or the Python extension is not installed' });
    return undefined;
  }
  return interpreter;
}

/** The interpreters that may run the bundle, best first, as command lines with labels. */
function bundleInterpreters(interpreter: string[] | undefined, platform: NodeJS.Platform): [string[], string][] {
  const candidates: [string[], string][] = interpreter ? [[interpreter, PY_EXT_SOURCE]] : [];
  if (platform === 'win32') {
    candidates.push([['python'], 'python on PATH'], [['py', '-3'], 'py -3 on PATH']);
  } else {
    candidates.push([['python3'], 'python3 on PATH']);
  }
  return candidates;
}

async function tryBundled(
  interpreter: string[] | undefined,
  launcher: string,
  host: DiscoveryHost,
  refused: Attempt[],
): Promise<ServerCommand | undefined> {
  for (const [command, label] of bundleInterpreters(interpreter, host.platform)) {
    const source = `the bundled server, run by ${label}`;
    const program = await host.resolveExecutable(command[0]);
    if (!program) {
      refused.push({ source, detail: `${command[0]} not found` });
      continue;
    }
    const line = [program, ...command.slice(1), ...BUNDLED_PYTHON_FLAGS, launcher];
    const probe = await (host.probeBundled as (c: string[]) => Promise<ProbeResult>)(line);
    if (probe.ok) {
      return { command: program, args: [...line.slice(1), ...SERVE_ARGS], source, version: probe.version };
    }
    refused.push({ source, detail: `${program}: ${probe.error}` });
  }
  return undefined;
}

/** Steps 4 and 5: a heaplens the user installed, in a Python or as an executable. */
async function installedServer(
  interpreter: string[] | undefined,
  host: DiscoveryHost,
  tried: Attempt[],
): Promise<ServerCommand | undefined> {
  if (interpreter) {
    const result = await tryPython(interpreter, PY_EXT_SOURCE, host, tried);
    if (result) {
      return result;
    }
  }
  const defaultPython = host.platform === 'win32' ? 'python' : 'python3';
  const fromPath = await tryPython([defaultPython], `${defaultPython} on PATH`, host, tried);
  if (fromPath) {
    return fromPath;
  }

  const exe = await host.resolveExecutable('heaplens');
  if (exe) {
    return { command: exe, args: [...SERVE_ARGS], source: 'heaplens on PATH' };
  }
  tried.push({ source: 'heaplens on PATH', detail: 'not found' });
  return undefined;
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

export const NO_PYTHON_MESSAGE =
  'heaplens needs Python 3.10 or newer: install it from python.org or your package manager, ' +
  'or set heaplens.server.path.';

/** The error shown when nothing was found: what was tried, and what to do. */
export function notFoundMessage(discovery: Discovery): string {
  if (discovery.settingProblem) {
    return `heaplens: ${discovery.settingProblem}`;
  }
  if (discovery.noPython) {
    const found = discovery.noPython.map((a) => a.detail).join('; ');
    return NO_PYTHON_MESSAGE + (found ? ` (found: ${found})` : '');
  }
  return (
    'heaplens: cannot find the heaplens language server. Install it into a Python 3.10+ ' +
    'environment (pip install heaplens), then point heaplens.server.path at its heaplens ' +
    'executable or heaplens.server.python at its interpreter.'
  );
}
