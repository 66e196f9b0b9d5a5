import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  buildTree,
  describe as describeNode,
  FileNode,
  findingLabel,
  findingsUnder,
  findingTooltip,
  FunctionNode,
  hasFixes,
  kindsOf,
  ListedFinding,
  ListResult,
  matchingFixes,
  PACKAGE_LEVEL,
  rememberedKinds,
  shareLabel,
} from '../../src/findingsTree';
import { packageJson } from './helpers';

let next = 0;
function finding(over: Partial<ListedFinding> & { line?: number; share?: number }): ListedFinding {
  const line = over.line ?? next++;
  const { share, line: _line, ...rest } = over;
  return {
    uri: 'file:///m/p/a.go',
    range: { start: { line, character: 1 }, end: { line, character: 5 } },
    kind: 'escapes-to-heap',
    message: `&T{...} escapes to heap: returned to the caller (line ${line})`,
    package: 'example.com/m/p',
    directory: '/m/p',
    function: 'F',
    severity: 3,
    cost: share === undefined ? null : { alloc_space: Math.round(share * 1000), alloc_objects: 1, share },
    fixes: [],
    ...rest,
  };
}

function result(findings: ListedFinding[], profile: string | null = null): ListResult {
  return { profile, sortedBy: profile ? 'cost' : 'position', findings };
}

const names = (nodes: { name: string }[]) => nodes.map((n) => n.name);

describe('the Heap Escapes tree', () => {
  it('groups by package, file and function, with counts on every node', () => {
    const tree = buildTree(
      result([
        finding({ function: 'NewConfig', line: 8 }),
        finding({ function: 'NewConfig', line: 9, kind: 'leaking-param' }),
        finding({ function: 'Squares', line: 14 }),
        finding({ uri: 'file:///m/p/b.go', function: 'Other', line: 3 }),
        finding({ package: 'example.com/m/q', directory: '/m/q', uri: 'file:///m/q/q.go', function: 'Q' }),
      ]),
    );
    assert.deepEqual(names(tree), ['example.com/m/p', 'example.com/m/q']);
    const [p] = tree;
    assert.equal(p.count, 4);
    assert.equal(describeNode(p), '4');
    assert.deepEqual(names(p.children), ['a.go', 'b.go']);
    const a = p.children[0];
    assert.equal(a.count, 3);
    assert.deepEqual(names(a.children), ['NewConfig', 'Squares']);
    assert.deepEqual(
      a.children.map((f) => f.count),
      [2, 1],
    );
    assert.equal(describeNode(a.children[0]), '2');
    assert.equal(describeNode(a.children[0].children[0]), 'escapes-to-heap');
  });

  it('without a profile keeps functions and findings in file order', () => {
    const tree = buildTree(
      result([
        finding({ function: 'Late', line: 30 }),
        finding({ function: 'Early', line: 12 }),
        finding({ function: 'Early', line: 10 }),
      ]),
    );
    const functions = tree[0].children[0].children;
    assert.deepEqual(names(functions), ['Early', 'Late']);
    assert.deepEqual(
      functions[0].children.map((f) => f.finding.range.start.line),
      [10, 12],
    );
    assert.equal(functions[0].share, undefined);
  });

  it('with a profile sorts every level by the sum of shares and shows them', () => {
    const tree = buildTree(
      result(
        [
          finding({ package: 'example.com/a', directory: '/a', uri: 'file:///a/a.go', function: 'A', share: 0.05 }),
          finding({ package: 'example.com/z', directory: '/z', uri: 'file:///z/x.go', function: 'Cold', share: 0.01, line: 1 }),
          finding({ package: 'example.com/z', directory: '/z', uri: 'file:///z/x.go', function: 'Hot', share: 0.2, line: 9 }),
          finding({ package: 'example.com/z', directory: '/z', uri: 'file:///z/x.go', function: 'Hot', share: 0.21, line: 10 }),
          finding({ package: 'example.com/z', directory: '/z', uri: 'file:///z/y.go', function: 'Y', share: 0.1 }),
          finding({ package: 'example.com/z', directory: '/z', uri: 'file:///z/y.go', function: 'NoCost', kind: 'leaking-param' }),
        ],
        'mem.out',
      ),
    );
    assert.deepEqual(names(tree), ['example.com/z', 'example.com/a']);
    const z = tree[0];
    assert.equal(describeNode(z), `5 · ${shareLabel(0.52)}`);
    assert.equal(shareLabel(0.52), '52%');
    assert.deepEqual(names(z.children), ['x.go', 'y.go']);
    const x: FileNode = z.children[0];
    assert.deepEqual(names(x.children), ['Hot', 'Cold']);
    const hot: FunctionNode = x.children[0];
    assert.equal(describeNode(hot), '2 · 41%');
    assert.deepEqual(
      hot.children.map((f) => f.finding.range.start.line),
      [10, 9],
    );
    assert.equal(describeNode(hot.children[0]), 'escapes-to-heap · 21%');
    assert.deepEqual(names(z.children[1].children), ['Y', 'NoCost']);
  });

  it('filters by kind, leaving out the nodes that have none left', () => {
    const findings = [
      finding({ function: 'F', kind: 'leaking-param' }),
      finding({ function: 'G', kind: 'moved-to-heap' }),
      finding({ function: 'G', kind: 'escapes-to-heap' }),
    ];
    assert.deepEqual(kindsOf(findings), ['escapes-to-heap', 'leaking-param', 'moved-to-heap']);
    const tree = buildTree(result(findings), new Set(['moved-to-heap', 'escapes-to-heap']));
    assert.equal(tree[0].count, 2);
    assert.deepEqual(names(tree[0].children[0].children), ['G']);
    assert.deepEqual(buildTree(result(findings), new Set()), []);
    assert.equal(buildTree(result(findings), undefined)[0].count, 3);
  });

  it('files findings outside a function under the package level, and unknown packages by directory', () => {
    const tree = buildTree(result([finding({ function: '', package: '', directory: '/m/x' })]));
    assert.equal(tree[0].name, '/m/x');
    assert.equal(tree[0].children[0].children[0].name, PACKAGE_LEVEL);
  });

  it('finds the fixes under any node', () => {
    const fix = { title: 'Preallocate out', kind: 'preallocate' };
    const fixed = finding({ function: 'Squares', line: 20, fixes: [fix] });
    const tree = buildTree(result([finding({ function: 'F', line: 10 }), fixed]));
    const [f, squares] = tree[0].children[0].children;
    assert.equal(hasFixes(f), false);
    assert.equal(hasFixes(squares), true);
    assert.equal(hasFixes(tree[0]), true);
    assert.deepEqual(findingsUnder(tree[0]).length, 2);
    assert.match(findingTooltip(fixed, null), /Verified fixes:\n- Preallocate out/);
  });
});

describe('finding rows', () => {
  it('are labelled by the first line of the message', () => {
    const f = finding({ message: 'x escapes to heap: returned\n  ← flow', subject: 'x' });
    assert.equal(findingLabel(f), 'x escapes to heap: returned');
    assert.equal(findingLabel(finding({ message: '', subject: 'x' })), 'x');
  });

  it('say the reason, the cost and the profile in the tooltip', () => {
    const f = finding({ share: 0.412, function: 'Hot' });
    const tip = findingTooltip(f, 'mem.out');
    assert.match(tip, /in `Hot`/);
    assert.match(tip, /returned to the caller/);
    assert.match(tip, /41% of allocated bytes in mem\.out/);
  });

  it('shows small shares without rounding them to nothing', () => {
    assert.equal(shareLabel(0.004), '0.4%');
    assert.equal(shareLabel(0.0001), '<0.1%');
    assert.equal(shareLabel(0), '0%');
    assert.equal(shareLabel(0.05), '5%');
  });
});

describe('applying a fix through the server\'s code actions', () => {
  it('picks the actions titled as the fix, with or without the savings after', () => {
    const actions = [
      { title: 'Preallocate out (saves 41% of allocated bytes in mem.out)' },
      { title: 'Ignore findings in Squares: add //heaplens:ignore above it' },
      { title: 'Preallocate outer' },
    ];
    const fixes = [{ title: 'Preallocate out', kind: 'preallocate' }];
    assert.deepEqual(matchingFixes(actions, fixes), [actions[0]]);
  });
});

describe('the remembered filter', () => {
  it('is a set of names, or no filter', () => {
    assert.deepEqual(rememberedKinds(['a', 'b']), new Set(['a', 'b']));
    assert.equal(rememberedKinds(undefined), undefined);
    assert.equal(rememberedKinds([1]), undefined);
  });
});

describe('package.json contributes the view', () => {
  it('puts "Heap Escapes" in the Explorer with its title and item actions', () => {
    const pkg = packageJson();
    const [view] = pkg.contributes.views.explorer;
    assert.deepEqual([view.id, view.name], ['heaplens.findings', 'Heap Escapes']);
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    const title = pkg.contributes.menus['view/title'].map((m: { command: string }) => m.command);
    assert.deepEqual(new Set(title), new Set(['heaplens.findings.refresh', 'heaplens.findings.filterByKind']));
    for (const menu of [...pkg.contributes.menus['view/title'], ...pkg.contributes.menus['view/item/context']]) {
      assert.ok(commands.has(menu.command), menu.command);
      assert.match(menu.when, /view == heaplens\.findings/);
    }
    const filter = pkg.contributes.commands.find((c: { command: string }) => c.command === 'heaplens.findings.filterByKind');
    assert.equal(filter.title, 'Filter by kind…');
  });
});
