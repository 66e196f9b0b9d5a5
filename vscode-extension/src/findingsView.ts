/**
 * The "Heap Escapes" view (`heaplens.findings`, in the Explorer): a tree of the findings
 * the server holds, by package, file and function, refreshed when the server says they
 * changed (`heaplens/findingsChanged`) and by its title button. The tree itself is
 * `findingsTree`'s (pure); this file shows it, opens a finding, filters by kind (a pick
 * remembered in the workspace state) and applies a finding's fix through the server's
 * own code actions, so the view and the light bulb do exactly the same thing.
 */
import * as vscode from 'vscode';
import {
  buildTree,
  describe,
  findingLabel,
  findingsUnder,
  findingTooltip,
  hasFixes,
  kindsOf,
  ListedFinding,
  ListResult,
  LspRange,
  matchingFixes,
  PACKAGE_LEVEL,
  rememberedKinds,
  TreeNode,
} from './findingsTree';

export const VIEW_ID = 'heaplens.findings';
export const VIEW_COMMANDS = {
  refresh: 'heaplens.findings.refresh',
  filter: 'heaplens.findings.filterByKind',
  applyFix: 'heaplens.findings.applyFix',
  open: 'heaplens.findings.open',
} as const;
/** Where the kinds chosen in "Filter by kind…" are remembered. */
const KINDS_STATE = 'heaplens.findings.kinds';

/** How the view asks the server for the list: undefined while no server runs. */
export type ListSource = () => Promise<ListResult | undefined>;

export class FindingsView implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private result: ListResult | undefined;
  private roots: TreeNode[] = [];
  private readonly view: vscode.TreeView<TreeNode>;
  /** One request at a time; a refresh asked for meanwhile runs once it ends. */
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly source: ListSource,
    private readonly state: vscode.Memento,
  ) {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
  }

  private get kinds(): Set<string> | undefined {
    return rememberedKinds(this.state.get(KINDS_STATE));
  }

  register(): vscode.Disposable[] {
    return [
      this.view,
      this.changed,
      vscode.commands.registerCommand(VIEW_COMMANDS.refresh, () => this.refresh()),
      vscode.commands.registerCommand(VIEW_COMMANDS.filter, () => this.pickKinds()),
      vscode.commands.registerCommand(VIEW_COMMANDS.applyFix, (node?: TreeNode) => this.applyFix(node)),
      vscode.commands.registerCommand(VIEW_COMMANDS.open, (uri: string, range: LspRange) => openAt(uri, range)),
    ];
  }

  /** Ask the server for the list again and redraw. */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      this.result = await this.source();
    } catch {
      this.result = undefined; // the server went away meanwhile: an empty view
    }
    this.redraw();
  }

  private redraw(): void {
    this.roots = this.result ? buildTree(this.result, this.kinds) : [];
    const kinds = this.kinds;
    this.view.description = kinds ? `kinds: ${[...kinds].join(', ') || 'none'}` : undefined;
    this.changed.fire(undefined);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    if (!node) {
      return this.roots;
    }
    return node.type === 'finding' ? [] : node.children;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const expanded = vscode.TreeItemCollapsibleState.Expanded;
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const fixable = hasFixes(node) ? '.fixable' : '';
    let item: vscode.TreeItem;
    switch (node.type) {
      case 'package':
        item = new vscode.TreeItem(node.name, expanded);
        item.iconPath = new vscode.ThemeIcon('package');
        item.tooltip = node.directory;
        break;
      case 'file':
        item = new vscode.TreeItem(node.name, expanded);
        item.resourceUri = vscode.Uri.parse(node.uri);
        item.iconPath = vscode.ThemeIcon.File;
        break;
      case 'function':
        // The label is the function's name alone: what a reader (or a test) looks for.
        item = new vscode.TreeItem(node.name, node.name === PACKAGE_LEVEL ? collapsed : expanded);
        item.iconPath = new vscode.ThemeIcon('symbol-function');
        break;
      case 'finding':
        item = findingItem(node.finding, this.result?.profile ?? null);
        break;
    }
    item.description = describe(node);
    // Read out as it reads: the label first (what a screen reader, or a test, finds it by).
    item.accessibilityInformation = { label: `${String(item.label)}, ${describe(node)}` };
    item.contextValue = `heaplens.${node.type}${fixable}`;
    return item;
  }

  private async pickKinds(): Promise<void> {
    const current = this.kinds;
    const present = kindsOf(this.result?.findings ?? []);
    const all = [...new Set([...present, ...(current ?? [])])].sort();
    if (all.length === 0) {
      void vscode.window.showInformationMessage('heaplens: no findings to filter yet.');
      return;
    }
    const items = all.map((kind) => ({ label: kind, picked: current === undefined || current.has(kind) }));
    const chosen = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: 'Heap Escapes: show findings of these kinds',
    });
    if (!chosen) {
      return;
    }
    // Every kind picked is no filter at all: kinds that appear later are shown too.
    const value = chosen.length === all.length ? undefined : chosen.map((c) => c.label);
    await this.state.update(KINDS_STATE, value);
    this.redraw();
  }

  private async applyFix(node?: TreeNode): Promise<void> {
    const target = node ?? this.view.selection[0];
    const offers = target ? findingsUnder(target).flatMap((f) => f.fixes.map((fix) => ({ f, fix }))) : [];
    if (offers.length === 0) {
      void vscode.window.showInformationMessage('heaplens: no verified fix here.');
      return;
    }
    const picked =
      offers.length === 1
        ? offers[0]
        : (
            await vscode.window.showQuickPick(
              offers.map((o) => ({ label: o.fix.title, description: `${o.f.function}: ${findingLabel(o.f)}`, offer: o })),
              { title: 'Apply a verified fix' },
            )
          )?.offer;
    if (picked) {
      await applyServerFix(picked.f, picked.fix.title);
    }
  }

  dispose(): void {
    this.view.dispose();
    this.changed.dispose();
  }
}

function findingItem(f: ListedFinding, profile: string | null): vscode.TreeItem {
  const item = new vscode.TreeItem(findingLabel(f), vscode.TreeItemCollapsibleState.None);
  item.tooltip = new vscode.MarkdownString(findingTooltip(f, profile));
  item.iconPath = new vscode.ThemeIcon(f.fixes.length > 0 ? 'lightbulb' : severityIcon(f.severity));
  item.command = { title: 'Go to the finding', command: VIEW_COMMANDS.open, arguments: [f.uri, f.range] };
  return item;
}

function severityIcon(severity: number): string {
  return ['error', 'warning', 'info', 'circle-small'][Math.min(Math.max(severity, 1), 4) - 1];
}

function toRange(r: LspRange): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

async function openAt(uri: string, range: LspRange): Promise<vscode.TextEditor> {
  const selection = toRange(range);
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(uri), { selection, preview: true });
  editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/**
 * Run the fix titled `title` of finding `f` as the light bulb would: the server's code
 * actions at the finding's range (resolved, so they carry their edit), the one with that
 * title applied.
 */
async function applyServerFix(f: ListedFinding, title: string): Promise<void> {
  const editor = await openAt(f.uri, f.range);
  const actions =
    (await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
      'vscode.executeCodeActionProvider',
      editor.document.uri,
      toRange(f.range),
      undefined,
      10,
    )) ?? [];
  const [action] = matchingFixes(actions, [{ title, kind: '' }]);
  if (!action) {
    void vscode.window.showWarningMessage(`heaplens: the fix "${title}" is no longer offered; the file changed.`);
    return;
  }
  if (typeof action.command === 'string') {
    const command = action as vscode.Command; // a bare command, not a code action
    await vscode.commands.executeCommand(command.command, ...(command.arguments ?? []));
    return;
  }
  const codeAction = action as vscode.CodeAction;
  if (codeAction.edit) {
    await vscode.workspace.applyEdit(codeAction.edit);
  }
  if (codeAction.command) {
    await vscode.commands.executeCommand(codeAction.command.command, ...(codeAction.command.arguments ?? []));
  }
}
