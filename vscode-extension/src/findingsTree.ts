/**
 * The model of the "Heap Escapes" view, from the server's `heaplens.listFindings` answer:
 * findings grouped by package, file and function, with a count on every node, sorted by
 * cost (the sum of the findings' shares) when a profile is loaded, and filtered by kind.
 * Pure: no `vscode` import, so the unit tests build trees from plain JSON; `findingsView`
 * turns the nodes into tree items.
 */

export interface LspPosition {
  line: number;
  character: number;
}

export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export interface FindingCost {
  alloc_space: number;
  alloc_objects: number;
  /** This finding's own part of the allocated bytes: shares add up along the tree. */
  share: number;
  shared_by?: number;
  lineShare?: number;
}

export interface FixInfo {
  title: string;
  kind: string;
}

/** One finding of `heaplens.listFindings` (CONTRACT: the server's findings_list.py). */
export interface ListedFinding {
  uri: string;
  range: LspRange;
  kind: string;
  message: string;
  package: string;
  directory: string;
  function: string;
  severity: number;
  cost: FindingCost | null;
  fixes: FixInfo[];
  /** What the kinds table calls the kind ("escapes to the heap"); absent from old servers. */
  label?: string;
  subject?: string;
  reason?: string;
  stale?: boolean;
}

export interface ListResult {
  profile: string | null;
  sortedBy: 'cost' | 'position';
  findings: ListedFinding[];
}

interface NodeBase {
  /** Findings under the node. */
  count: number;
  /** The sum of their shares; undefined without a profile. */
  share?: number;
}

export interface FindingNode extends NodeBase {
  type: 'finding';
  finding: ListedFinding;
}

export interface FunctionNode extends NodeBase {
  type: 'function';
  /** The function's name as the compiler gives it ("NewConfig", "(*T).M"). */
  name: string;
  uri: string;
  children: FindingNode[];
}

export interface FileNode extends NodeBase {
  type: 'file';
  uri: string;
  /** The file's base name. */
  name: string;
  children: FunctionNode[];
}

export interface PackageNode extends NodeBase {
  type: 'package';
  /** The import path, or the directory when the server did not know it. */
  name: string;
  directory: string;
  children: FileNode[];
}

export type TreeNode = PackageNode | FileNode | FunctionNode | FindingNode;

/** The name a finding outside any function is filed under. */
export const PACKAGE_LEVEL = '(package level)';

/** Whether a result carries costs to sort by. */
export function profiled(result: ListResult): boolean {
  return result.profile !== null && result.profile !== undefined;
}

/** The findings of the kinds chosen (all of them when `kinds` is undefined). */
export function filterByKind(findings: ListedFinding[], kinds: ReadonlySet<string> | undefined): ListedFinding[] {
  return kinds === undefined ? findings : findings.filter((f) => kinds.has(f.kind));
}

/** The kinds a result has, in order, for the filter's pick list. */
export function kindsOf(findings: ListedFinding[]): string[] {
  return [...new Set(findings.map((f) => f.kind))].sort();
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) {
      list.push(item);
    } else {
      out.set(k, [item]);
    }
  }
  return out;
}

function shareOf(f: ListedFinding): number {
  return f.cost?.share ?? 0;
}

function sum(findings: ListedFinding[], withCost: boolean): number | undefined {
  return withCost ? findings.reduce((total, f) => total + shareOf(f), 0) : undefined;
}

function comparePosition(a: LspPosition, b: LspPosition): number {
  return a.line - b.line || a.character - b.character;
}

function firstPosition(findings: ListedFinding[]): LspPosition {
  return findings.map((f) => f.range.start).reduce((a, b) => (comparePosition(a, b) <= 0 ? a : b));
}

function baseName(uri: string): string {
  const path = uri.replace(/[?#].*$/, '');
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

/** Highest share first; without costs (or on a tie) the fallback order. */
function byCost<T extends NodeBase>(withCost: boolean, fallback: (a: T, b: T) => number): (a: T, b: T) => number {
  return (a, b) => (withCost ? (b.share ?? 0) - (a.share ?? 0) : 0) || fallback(a, b);
}

/**
 * The view's tree: packages, then files, then functions, then findings, each node with
 * its count (and, with a profile, its share). With costs every level is by share, the
 * highest first; without, packages and files by name and functions and findings by
 * position in the file.
 */
export function buildTree(result: ListResult, kinds?: ReadonlySet<string>): PackageNode[] {
  const withCost = profiled(result);
  const findings = filterByKind(result.findings, kinds);
  const packages: PackageNode[] = [];
  for (const [name, inPackage] of groupBy(findings, (f) => f.package || f.directory)) {
    const files = [...groupBy(inPackage, (f) => f.uri)].map(([uri, inFile]) => fileNode(uri, inFile, withCost));
    files.sort(byCost<FileNode>(withCost, (a, b) => a.name.localeCompare(b.name) || a.uri.localeCompare(b.uri)));
    packages.push({
      type: 'package',
      name,
      directory: inPackage[0].directory,
      count: inPackage.length,
      share: sum(inPackage, withCost),
      children: files,
    });
  }
  packages.sort(byCost<PackageNode>(withCost, (a, b) => a.name.localeCompare(b.name)));
  return packages;
}

function fileNode(uri: string, findings: ListedFinding[], withCost: boolean): FileNode {
  const functions = [...groupBy(findings, (f) => f.function || PACKAGE_LEVEL)].map(
    ([name, inFunction]): FunctionNode & { first: LspPosition } => {
      const rows: FindingNode[] = inFunction.map((f) => ({
        type: 'finding',
        finding: f,
        count: 1,
        share: withCost ? shareOf(f) : undefined,
      }));
      rows.sort(byCost<FindingNode>(withCost, (a, b) => comparePosition(a.finding.range.start, b.finding.range.start)));
      return {
        type: 'function',
        name,
        uri,
        count: inFunction.length,
        share: sum(inFunction, withCost),
        children: rows,
        first: firstPosition(inFunction),
      };
    },
  );
  functions.sort(byCost(withCost, (a, b) => comparePosition(a.first, b.first)));
  return {
    type: 'file',
    uri,
    name: baseName(uri),
    count: findings.length,
    share: sum(findings, withCost),
    children: functions.map(({ first: _first, ...node }) => node),
  };
}

/** A share as the view shows it: "41%", "0.4%", "<0.1%". */
export function shareLabel(share: number): string {
  const percent = share * 100;
  if (percent >= 10) {
    return `${Math.round(percent)}%`;
  }
  if (percent >= 0.1) {
    return `${percent.toFixed(1).replace(/\.0$/, '')}%`;
  }
  return percent > 0 ? '<0.1%' : '0%';
}

/** A node's description: its count, and its share with a profile ("12 · 41%"). */
export function describe(node: TreeNode): string {
  const share = node.share !== undefined ? shareLabel(node.share) : undefined;
  if (node.type === 'finding') {
    const kind = node.finding.label || node.finding.kind;
    return share !== undefined ? `${kind} · ${share}` : kind;
  }
  return share !== undefined ? `${node.count} · ${share}` : String(node.count);
}

/** A finding row's label: the first line of its message (the rest is the flow). */
export function findingLabel(f: ListedFinding): string {
  const first = f.message.split('\n', 1)[0].replace(/^heaplens: /, '');
  return first || f.subject || f.kind;
}

/** A finding row's tooltip, as Markdown: the message with its reason, cost and fixes. */
export function findingTooltip(f: ListedFinding, profile: string | null): string {
  const lines = [`**${f.label || f.kind}** in \`${f.function || PACKAGE_LEVEL}\``, '', f.message.replace(/\n/g, '  \n')];
  if (f.cost) {
    const shared = f.cost.shared_by && f.cost.shared_by > 1 ? ` (its line's ${shareLabel(f.cost.lineShare ?? f.cost.share)}, shared by ${f.cost.shared_by})` : '';
    lines.push('', `${shareLabel(f.cost.share)} of allocated bytes in ${profile ?? 'the profile'}${shared}`);
  }
  if (f.fixes.length > 0) {
    lines.push('', 'Verified fixes:', ...f.fixes.map((x) => `- ${x.title}`));
  }
  return lines.join('\n');
}

/** Every finding under a node (a finding node: itself), for "Apply fix…" on any node. */
export function findingsUnder(node: TreeNode): ListedFinding[] {
  switch (node.type) {
    case 'finding':
      return [node.finding];
    case 'function':
      return node.children.map((c) => c.finding);
    case 'file':
      return node.children.flatMap(findingsUnder);
    case 'package':
      return node.children.flatMap(findingsUnder);
  }
}

/** Whether any finding under the node has a verified fix (the action is offered then). */
export function hasFixes(node: TreeNode): boolean {
  return findingsUnder(node).some((f) => f.fixes.length > 0);
}

/**
 * Which of the code actions offered at a finding are the heaplens fixes the list names:
 * the server's action titles are the fix titles, with what a profile says it saves after.
 */
export function matchingFixes<T extends { title: string }>(actions: T[], fixes: FixInfo[]): T[] {
  return actions.filter((a) => fixes.some((x) => a.title === x.title || a.title.startsWith(`${x.title} (`)));
}

/** The kinds remembered for the filter, if they are a list of names; else none (all). */
export function rememberedKinds(value: unknown): Set<string> | undefined {
  if (!Array.isArray(value) || !value.every((k) => typeof k === 'string')) {
    return undefined;
  }
  return new Set(value as string[]);
}
