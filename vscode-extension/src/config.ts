/**
 * Reading the `heaplens.*` settings from VS Code. The same flat object goes into
 * `initializationOptions`, answers `workspace/configuration` and rides on
 * `workspace/didChangeConfiguration`: all three call `currentServerSettings`.
 */
import * as vscode from 'vscode';
import { ServerSettings, serverSettings } from './settings';

export const SECTION = 'heaplens';

export function config(resource?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, resource);
}

/** The flat settings object, with the workspace's trust state. */
export function currentServerSettings(scopeUri?: string): ServerSettings {
  const resource = scopeUri ? vscode.Uri.parse(scopeUri) : undefined;
  const c = config(resource);
  return serverSettings((key) => c.get(key), vscode.workspace.isTrusted);
}
