/**
 * Per-package pause and resume (`heaplens.exclude`), the parts without VS Code: which
 * command does what, how the server's answer becomes the list written to a settings scope,
 * and how the folders' lists become the one list the server reads.
 *
 * The server answers `heaplens.pause` / `heaplens.resume` with the new list and keeps
 * nothing; the extension writes the list where settings live (the file's workspace folder,
 * else the workspace), and the change reaches the server as any setting does.
 */
import * as path from 'node:path';

/** The extension's commands (palette and code action) and the server's they call. */
export const PAUSE_COMMANDS = {
  pause: { client: 'heaplens.pausePackage', server: 'heaplens.pause' },
  resume: { client: 'heaplens.resumePackage', server: 'heaplens.resume' },
} as const;
export type PauseAction = keyof typeof PAUSE_COMMANDS;

/** What the server answers. */
export interface PauseAnswer {
  /** The package directory, absolute. */
  directory: string;
  /** How `exclude` names it: relative to its workspace folder, or absolute. */
  pattern: string;
  /** The whole list the server would read afterwards. */
  exclude: string[];
}

export function isPauseAnswer(value: unknown): value is PauseAnswer {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    typeof v.directory === 'string' &&
    typeof v.pattern === 'string' &&
    Array.isArray(v.exclude) &&
    v.exclude.every((p) => typeof p === 'string')
  );
}

/** A workspace folder's own `heaplens.exclude` (its effective value). */
export interface FolderExclude {
  folder: string;
  patterns: readonly string[];
}

/**
 * The one list the server reads. With one folder (or none) it is that folder's list as
 * written. With several, each folder's relative patterns are made absolute under it: the
 * server reads a relative pattern against every folder, and a folder's setting is about
 * that folder only.
 */
export function serverExclude(
  folders: readonly FolderExclude[],
  workspace: readonly string[],
): string[] {
  if (folders.length === 0) {
    return [...workspace];
  }
  if (folders.length === 1) {
    return [...folders[0].patterns];
  }
  const out: string[] = [];
  for (const { folder, patterns } of folders) {
    for (const p of patterns) {
      const absolute = path.isAbsolute(p) ? p : path.join(folder, p);
      if (!out.includes(absolute)) {
        out.push(absolute);
      }
    }
  }
  return out;
}

/**
 * The list to write to the scope that holds `current`, after the server's `answer`.
 * Pausing adds the package's pattern (unless a pattern already paused it: then the server's
 * list does not name it, and nothing changes). Resuming keeps the patterns the server
 * kept: `folder` (with `multiRoot`) says how `current`'s relative patterns reached it.
 */
export function newExclude(
  action: PauseAction,
  current: readonly string[],
  answer: PauseAnswer,
  folder: string | undefined,
  multiRoot: boolean,
): string[] {
  if (action === 'pause') {
    const named = answer.exclude.includes(answer.pattern);
    return named && !current.includes(answer.pattern) ? [...current, answer.pattern] : [...current];
  }
  const asSent = (p: string) =>
    multiRoot && folder && !path.isAbsolute(p) ? path.join(folder, p) : p;
  const kept = new Set(answer.exclude);
  return current.filter((p) => kept.has(asSent(p)) || kept.has(p));
}

/** Where the list goes: the file's workspace folder, else the workspace. */
export function excludeTarget(inFolder: boolean): 'workspaceFolder' | 'workspace' {
  return inFolder ? 'workspaceFolder' : 'workspace';
}

/** A command's argument as a URI string: a code action passes one, the explorer a Uri. */
export function uriArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) {
    return arg;
  }
  if (typeof arg === 'object' && arg !== null && 'scheme' in arg && 'toString' in arg) {
    return String(arg);
  }
  return undefined;
}

/** The paused flag of a `heaplens/status` notification, for its directory. */
export function pausedFromNotification(
  params: unknown,
): { directory: string; paused: boolean } | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const p = params as { directory?: unknown; paused?: unknown };
  if (typeof p.directory !== 'string' || !p.directory || typeof p.paused !== 'boolean') {
    return undefined; // a server from before pausing, or a status about no package
  }
  return { directory: p.directory, paused: p.paused };
}
