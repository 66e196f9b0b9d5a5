/**
 * The server's settings, as the extension sends them.
 *
 * heaplens takes ONE flat object (camelCase keys, no `heaplens` wrapper) in three places:
 * `initializationOptions`, the answer to `workspace/configuration` for the section
 * `heaplens`, and `workspace/didChangeConfiguration`. This module builds that object from the
 * `heaplens.*` settings. It never imports `vscode`: the caller passes a getter.
 */

export type Mode = 'onType' | 'onSave' | 'off';
export type Severity = 'error' | 'warning' | 'information' | 'hint';

// BEGIN generated kinds: scripts/gen_kinds.py writes this from server/heaplens/kinds.py
/** The kinds of finding the compiler reports, as the server names them. */
export const KINDS = [
  'moved-to-heap',
  'escapes-to-heap',
  'leaking-param',
  'inlining',
  'cannot-inline',
  'bounds-check',
  'nil-check',
  'assertion',
  'directive',
] as const;
/** Kinds whose diagnostics count as heap escapes in the status bar. */
export const HEAP_KINDS: readonly string[] = ['moved-to-heap', 'escapes-to-heap'];
const DEFAULT_KINDS: readonly string[] = ['assertion', 'directive', 'escapes-to-heap', 'leaking-param', 'moved-to-heap'];
const DEFAULT_SEVERITY: Readonly<Record<string, Severity>> = {
  'moved-to-heap': 'information',
  'escapes-to-heap': 'information',
  'leaking-param': 'hint',
  inlining: 'hint',
  'cannot-inline': 'hint',
  'bounds-check': 'information',
  'nil-check': 'information',
  assertion: 'error',
  directive: 'warning',
};
// END generated kinds
export type Kind = (typeof KINDS)[number];

/** The flat object the server reads. `workspaceTrusted` is not a user setting. */
export interface ServerSettings {
  mode: Mode;
  debounceMs: number;
  kinds: string[];
  severity: Record<string, Severity>;
  inlayHints: boolean;
  goBinary: string;
  buildFlags: string[];
  env: Record<string, string>;
  diagnoseUnopenedFiles: boolean;
  tests: boolean;
  timeout: number;
  allowNetwork: boolean;
  /** pprof files (paths or globs, relative to the workspace folder) to weigh findings by. */
  profile: string[];
  profileHotShare: number;
  /** Package directories (globs, relative to each workspace folder) heaplens is paused in. */
  exclude: string[];
  workspaceTrusted: boolean;
}

/** The server's own defaults (the same values package.json declares). */
const DEFAULTS: Omit<ServerSettings, 'workspaceTrusted'> = {
  mode: 'onType',
  debounceMs: 300,
  kinds: [...DEFAULT_KINDS],
  severity: { ...DEFAULT_SEVERITY },
  inlayHints: true,
  goBinary: '',
  buildFlags: [],
  env: {},
  diagnoseUnopenedFiles: true,
  tests: true,
  timeout: 120,
  allowNetwork: false,
  profile: [],
  profileHotShare: 0.05,
  exclude: [],
};
export const SERVER_DEFAULTS: Readonly<Omit<ServerSettings, 'workspaceTrusted'>> = Object.freeze(DEFAULTS);

/** The `heaplens.*` keys that are passed to the server, in the server's spelling. */
export const SERVER_KEYS = Object.keys(SERVER_DEFAULTS) as (keyof typeof SERVER_DEFAULTS)[];

/** Settings the extension itself reads; they never reach the server. */
export const CLIENT_KEYS = ['server.path', 'server.python', 'trace.server'] as const;

/** Reads one `heaplens.*` setting (the relative key, e.g. `debounceMs`). */
export type SettingGetter = (key: string) => unknown;

/**
 * The flat object for the server: every server key, with the user's value where one is set
 * and the server's default otherwise, plus the workspace trust state.
 *
 * Values are passed through as the user wrote them: the server checks each one, warns once
 * about a bad one and uses the default instead, so the rules live in one place.
 */
export function serverSettings(get: SettingGetter, workspaceTrusted: boolean): ServerSettings {
  const out: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = get(key);
    out[key] = value === undefined || value === null ? clone(SERVER_DEFAULTS[key]) : clone(value);
  }
  out.workspaceTrusted = workspaceTrusted;
  return out as unknown as ServerSettings;
}

/** The Go extension's settings that choose its go, which an empty `goBinary` follows. */
const GO_EXTENSION_KEYS = ['go.goroot', 'go.alternateTools'];

/** Is a configuration change one the running server must hear about? */
export function affectsServer(affects: (section: string) => boolean): boolean {
  return SERVER_KEYS.some((key) => affects(`heaplens.${key}`)) || GO_EXTENSION_KEYS.some(affects);
}

/** Does a configuration change need a new server process (another program to start)? */
export function affectsServerProcess(affects: (section: string) => boolean): boolean {
  return affects('heaplens.server.path') || affects('heaplens.server.python');
}

/** A plain JSON copy: VS Code hands out frozen proxies, which must not leak into messages. */
function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** One item of a `workspace/configuration` request. */
export interface ConfigurationItemLike {
  section?: string | null;
  scopeUri?: string | null;
}

/**
 * The answer to `workspace/configuration`: for the section `heaplens`, the same flat object
 * as `initializationOptions`; any other section is answered by `others` (the client's
 * default), in one call, and the answers are put back in order.
 */
export async function answerConfiguration<Item extends ConfigurationItemLike>(
  items: readonly Item[],
  flatFor: (scopeUri: string | undefined) => ServerSettings,
  others: (items: Item[]) => unknown[] | Promise<unknown>,
): Promise<unknown> {
  const rest = items.filter((item) => item.section !== 'heaplens');
  let otherAnswers: unknown[] = [];
  if (rest.length > 0) {
    const answered = await others(rest);
    if (!Array.isArray(answered)) {
      return answered; // an error from the client: pass it on as it is
    }
    otherAnswers = answered;
  }
  let next = 0;
  return items.map((item) =>
    item.section === 'heaplens' ? flatFor(item.scopeUri ?? undefined) : otherAnswers[next++] ?? null,
  );
}

/** Where "Toggle Inlay Hints" writes: the most specific level that sets the value now. */
export type SettingTarget = 'workspaceFolder' | 'workspace' | 'global';

export function toggleTarget(inspect: {
  workspaceFolderValue?: unknown;
  workspaceValue?: unknown;
} | undefined): SettingTarget {
  if (inspect?.workspaceFolderValue !== undefined) {
    return 'workspaceFolder';
  }
  if (inspect?.workspaceValue !== undefined) {
    return 'workspace';
  }
  return 'global';
}
