/**
 * The heaplens status bar item: it follows the server's state, the workspace trust and the
 * active editor's heaplens diagnostics, and renders what `status.ts` decides.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ProfileInfo, ServerState, statusView, StatusView, summarize, FileSummary } from './status';

export const SHOW_OUTPUT_COMMAND = 'heaplens.showOutput';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private server: ServerState = { kind: 'starting' };
  private profile: ProfileInfo | undefined;
  private trusted: boolean;
  /** Whether each package directory is paused, as the server last said (or a command). */
  private readonly paused = new Map<string, boolean>();
  /** What is shown now (for tests and logs). */
  view!: StatusView;

  constructor() {
    this.item = vscode.window.createStatusBarItem('heaplens.status', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'heaplens';
    this.item.command = SHOW_OUTPUT_COMMAND;
    this.trusted = vscode.workspace.isTrusted;
    this.subscriptions.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
      vscode.window.tabGroups.onDidChangeTabs(() => this.render()),
      vscode.languages.onDidChangeDiagnostics((event) => {
        const uri = this.activeDocument()?.uri;
        if (uri && event.uris.some((u) => u.toString() === uri.toString())) {
          this.render();
        }
      }),
    );
    this.render();
  }

  setServer(state: ServerState): void {
    this.server = state;
    this.render();
  }

  setProfile(profile: ProfileInfo): void {
    this.profile = profile;
    this.render();
  }

  /** The server (`heaplens/status`) or a pause/resume command said so for `directory`. */
  setPaused(directory: string, paused: boolean): void {
    this.paused.set(path.resolve(directory), paused);
    this.render();
  }

  get serverState(): ServerState {
    return this.server;
  }

  setTrusted(trusted: boolean): void {
    this.trusted = trusted;
    this.render();
  }

  /**
   * The Go document in front of the user. `activeTextEditor` is undefined while focus is
   * elsewhere (VS Code 1.139 leaves it so after a modal editor such as Workspace Trust
   * closes, until the editor is clicked); the active tab still names the file then.
   */
  private activeDocument(): vscode.TextDocument | undefined {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      return editor.document;
    }
    const input = vscode.window.tabGroups.activeTabGroup?.activeTab?.input;
    if (input instanceof vscode.TabInputText) {
      const uri = input.uri.toString();
      return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    }
    return undefined;
  }

  private activeFile(): FileSummary | undefined {
    const doc = this.activeDocument();
    if (!doc || doc.languageId !== 'go' || doc.uri.scheme !== 'file') {
      return undefined;
    }
    const name = doc.uri.path.slice(doc.uri.path.lastIndexOf('/') + 1);
    const summary = summarize(name, vscode.languages.getDiagnostics(doc.uri));
    summary.paused = this.paused.get(path.dirname(path.resolve(doc.uri.fsPath))) ?? false;
    return summary;
  }

  render(): void {
    this.view = statusView({
      server: this.server,
      workspaceTrusted: this.trusted,
      file: this.activeFile(),
      profile: this.profile,
    });
    this.item.text = this.view.text;
    this.item.tooltip = this.view.tooltip;
    this.item.backgroundColor = this.view.background
      ? new vscode.ThemeColor(this.view.background)
      : undefined;
    if (this.view.visible) {
      this.item.show();
    } else {
      this.item.hide();
    }
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.item.dispose();
  }
}
