/**
 * What the status bar item says. Pure: the inputs are the server's state (from the
 * `heaplens/status` notification and the client's lifecycle), the workspace trust, and the
 * heaplens diagnostics of the active file; the output is the item's text, tooltip and colour.
 */
import { HEAP_KINDS } from './settings';

export type ServerState =
  /** Looking for the server or starting it. */
  | { kind: 'starting' }
  /** `heaplens/status` said `analysing`. */
  | { kind: 'analysing'; directory: string }
  /** Running, nothing in flight. */
  | { kind: 'idle' }
  /** `heaplens/status` said `error`: the toolchain is missing, too old, or timed out. */
  | { kind: 'error'; message: string }
  /** No server: not found, or it stopped. */
  | { kind: 'stopped'; message: string };

export interface FileSummary {
  /** The file's name, for the tooltip. */
  name: string;
  /** Diagnostics with source heaplens and code moved-to-heap or escapes-to-heap. */
  heapEscapes: number;
  /** The package no longer compiles and these findings are from the last build. */
  stale: boolean;
  /** The file's package is paused (`heaplens.exclude`): heaplens does not analyse it. */
  paused?: boolean;
}

/** The profiles of `heaplens.profile` the server has loaded (`heaplens/status` says). */
export interface ProfileInfo {
  /** Their names, e.g. `mem.out`; empty when none is loaded. */
  label: string;
  /** Why none is, when the setting names some (none matched, one could not be read). */
  note: string;
}

export interface StatusInput {
  server: ServerState;
  workspaceTrusted: boolean;
  profile?: ProfileInfo;
  /** The active editor's Go file; undefined when the active editor is not a Go file. */
  file?: FileSummary;
}

/** The state the item shows, one word, also used by tests. */
export type Shown =
  | 'starting'
  | 'analysing'
  | 'idle'
  | 'stale'
  | 'paused'
  | 'error'
  | 'restricted'
  | 'stopped';

export interface StatusView {
  state: Shown;
  text: string;
  tooltip: string;
  /** The item's background: a theme colour id, or undefined for the normal one. */
  background?: 'statusBarItem.errorBackground' | 'statusBarItem.warningBackground';
  visible: boolean;
}

const ICONS: Record<Shown, string> = {
  starting: '$(loading~spin)',
  analysing: '$(sync~spin)',
  idle: '$(check)',
  stale: '$(history)',
  paused: '$(debug-pause)',
  error: '$(error)',
  restricted: '$(shield)',
  stopped: '$(circle-slash)',
};

export const CLICK_HINT = 'Click to show the heaplens output.';

/** The minimal shape of a diagnostic this module reads (vscode.Diagnostic fits). */
export interface DiagnosticLike {
  source?: string;
  code?: string | number | { value: string | number };
}

function codeOf(d: DiagnosticLike): string | undefined {
  const code = d.code;
  if (code === undefined) {
    return undefined;
  }
  return String(typeof code === 'object' ? code.value : code);
}

/** Heap escapes and staleness, from one file's diagnostics (all sources). */
export function summarize(
  name: string,
  diagnostics: readonly DiagnosticLike[],
): FileSummary {
  let heapEscapes = 0;
  let stale = false;
  for (const d of diagnostics) {
    if (d.source !== 'heaplens') {
      continue;
    }
    const code = codeOf(d);
    if (code === 'stale') {
      stale = true;
    } else if (code !== undefined && HEAP_KINDS.includes(code)) {
      heapEscapes += 1;
    }
  }
  return { name, heapEscapes, stale };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function statusView(input: StatusInput): StatusView {
  const { server, file } = input;
  let state: Shown;
  if (server.kind === 'stopped') {
    state = 'stopped';
  } else if (!input.workspaceTrusted) {
    state = 'restricted';
  } else if (server.kind === 'error') {
    state = 'error';
  } else if (file?.paused && server.kind !== 'starting') {
    // Before "analysing": another package's analysis says nothing about this one.
    state = 'paused';
  } else if (server.kind === 'starting' || server.kind === 'analysing') {
    state = server.kind;
  } else if (file?.stale) {
    state = 'stale';
  } else {
    state = 'idle';
  }

  let text = `${ICONS[state]} heaplens`;
  if (state === 'restricted') {
    text += ': restricted';
  } else if (state === 'paused') {
    text += ': paused';
  } else if (file && state !== 'stopped' && state !== 'starting') {
    text += `: ${plural(file.heapEscapes, 'heap escape', 'heap escapes')}`;
    if (state === 'stale') {
      text += ' (stale)';
    }
  }
  const profile = input.profile;
  if (profile?.label && state !== 'stopped' && state !== 'restricted') {
    text += ` · ${profile.label}`;
  }

  const lines: string[] = [];
  switch (state) {
    case 'stopped':
      lines.push(`heaplens is not running: ${(server as { message: string }).message}`);
      break;
    case 'restricted':
      lines.push(
        'Restricted mode: this workspace is not trusted, so heaplens does not run go and shows no findings. Trust the workspace to analyse it.',
      );
      break;
    case 'error':
      lines.push(`heaplens could not analyse: ${(server as { message: string }).message}`);
      break;
    case 'starting':
      lines.push('heaplens is starting.');
      break;
    case 'analysing':
      lines.push(`heaplens is analysing ${(server as { directory: string }).directory || 'the package'}.`);
      break;
    case 'stale':
      lines.push('The package does not compile now: these findings are from its last good build.');
      break;
    case 'idle':
      lines.push('heaplens is up to date.');
      break;
    case 'paused':
      lines.push(
        'heaplens is paused in this package (heaplens.exclude): it is not analysed. Run "heaplens: resume in this package" to analyse it again.',
      );
      break;
  }
  if (
    file &&
    state !== 'restricted' &&
    state !== 'stopped' &&
    state !== 'starting' &&
    state !== 'paused'
  ) {
    lines.push(
      `${file.name}: ${plural(file.heapEscapes, 'value escapes', 'values escape')} to the heap.`,
    );
  }
  if (profile?.label) {
    lines.push(`Findings are weighed by the profile ${profile.label}.`);
  } else if (profile?.note) {
    lines.push(`Profile: ${profile.note}.`);
  }
  lines.push(CLICK_HINT);

  let background: StatusView['background'];
  if (state === 'stopped' || state === 'error') {
    background = 'statusBarItem.errorBackground';
  } else if (state === 'stale' || state === 'restricted') {
    background = 'statusBarItem.warningBackground';
  }
  // Like the Go extension's items: shown with Go files, and whenever something is wrong.
  const visible = file !== undefined || state === 'stopped' || state === 'error';
  return { state, text, tooltip: lines.join('\n'), background, visible };
}

/** The state a `heaplens/status` notification puts the server in. */
export function fromNotification(params: unknown): ServerState | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const p = params as { state?: unknown; directory?: unknown; message?: unknown };
  const directory = typeof p.directory === 'string' ? p.directory : '';
  const message = typeof p.message === 'string' ? p.message : '';
  switch (p.state) {
    case 'analysing':
      return { kind: 'analysing', directory };
    case 'idle':
      return { kind: 'idle' };
    case 'error':
      return { kind: 'error', message: message || 'the Go toolchain failed' };
    default:
      return undefined;
  }
}

/** The profile a `heaplens/status` notification reports, if it reports one. */
export function profileFromNotification(params: unknown): ProfileInfo | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const p = params as { profile?: unknown; profileNote?: unknown };
  if (typeof p.profile !== 'string') {
    return undefined; // a server from before profiles
  }
  return { label: p.profile, note: typeof p.profileNote === 'string' ? p.profileNote : '' };
}
