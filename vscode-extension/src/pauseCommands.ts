/**
 * The commands "heaplens: pause in this package" and "heaplens: resume in this package"
 * (`heaplens.pausePackage`, `heaplens.resumePackage`): they ask the server for the new
 * `heaplens.exclude` list and write it to the file's workspace folder (else the workspace).
 * The server hears of it as of any setting change. The decisions are in `pause.ts`.
 */
import * as vscode from 'vscode';
import { config, SECTION } from './config';
import {
  excludeTarget,
  isPauseAnswer,
  newExclude,
  PAUSE_COMMANDS,
  PauseAction,
  uriArgument,
} from './pause';
import { StatusBar } from './statusBar';

/** What the commands need of the controller: a way to run a server command. */
export interface ServerCommands {
  executeServerCommand(command: string, args: unknown[]): Promise<unknown>;
}

export function registerPauseCommands(
  server: ServerCommands,
  status: StatusBar,
  output: vscode.LogOutputChannel,
): vscode.Disposable[] {
  return (Object.keys(PAUSE_COMMANDS) as PauseAction[]).map((action) =>
    vscode.commands.registerCommand(PAUSE_COMMANDS[action].client, (arg?: unknown) =>
      pauseOrResume(action, arg, server, status, output),
    ),
  );
}

async function pauseOrResume(
  action: PauseAction,
  arg: unknown,
  server: ServerCommands,
  status: StatusBar,
  output: vscode.LogOutputChannel,
): Promise<string[] | undefined> {
  const uriText = uriArgument(arg) ?? vscode.window.activeTextEditor?.document.uri.toString();
  if (!uriText) {
    void vscode.window.showInformationMessage(`heaplens: open a Go file to ${action} its package.`);
    return undefined;
  }
  const answer = await server.executeServerCommand(PAUSE_COMMANDS[action].server, [{ uri: uriText }]);
  if (!isPauseAnswer(answer)) {
    void vscode.window.showErrorMessage(`heaplens: could not ${action}: the language server is not running.`);
    return undefined;
  }
  const uri = vscode.Uri.parse(uriText);
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  const settings = config(folder?.uri ?? uri);
  const current = settings.get<string[]>('exclude') ?? [];
  const list = newExclude(action, current, answer, folder?.uri.fsPath, multiRoot);
  let target =
    excludeTarget(folder !== undefined) === 'workspaceFolder'
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : vscode.ConfigurationTarget.Workspace;
  if (!vscode.workspace.workspaceFolders && !vscode.workspace.workspaceFile) {
    target = vscode.ConfigurationTarget.Global; // no workspace to write to: a file alone
  }
  await settings.update('exclude', list, target);
  output.info(`${action}d ${answer.directory}: ${SECTION}.exclude is now ${JSON.stringify(list)}`);
  status.setPaused(answer.directory, action === 'pause');
  return list;
}
