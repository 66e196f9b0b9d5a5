/**
 * Reading the `heaplens.*` settings from VS Code. The same flat object goes into
 * `initializationOptions`, answers `workspace/configuration` and rides on
 * `workspace/didChangeConfiguration`: all three call `currentServerSettings`.
 */
import * as vscode from 'vscode';
import { goExtensionBinary } from './goExtension';
import { serverExclude } from './pause';
import { ServerSettings, serverSettings } from './settings';

export const SECTION = 'heaplens';

export function config(resource?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, resource);
}

/**
 * The flat settings object, with the workspace's trust state. An empty `goBinary` becomes
 * the go the Go extension uses, when it has one (see goExtension.ts).
 */
export function currentServerSettings(scopeUri?: string): ServerSettings {
  const resource = scopeUri ? vscode.Uri.parse(scopeUri) : undefined;
  const c = config(resource);
  const flat = serverSettings((key) => c.get(key), vscode.workspace.isTrusted);
  if (!flat.goBinary) {
    flat.goBinary = goExtensionBinary(resource) ?? '';
  }
  if (!resource) {
    // `heaplens.exclude` is written per workspace folder: each folder's list counts.
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => ({
      folder: f.uri.fsPath,
      patterns: strings(config(f.uri).get('exclude')),
    }));
    flat.exclude = serverExclude(folders, strings(c.get('exclude')));
  }
  return flat;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
