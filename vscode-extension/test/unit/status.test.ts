import '../stubs/register';
import { strict as assert } from 'node:assert';
import { beforeEach, describe, it } from 'node:test';
import {
  CLICK_HINT,
  fromNotification,
  profileFromNotification,
  statusView,
  summarize,
  StatusInput,
} from '../../src/status';
import { StatusBar } from '../../src/statusBar';
import { stub, TabInputText, Uri } from '../stubs/vscode';

const heap = (code: string, source = 'heaplens') => ({ source, code });

describe('counting heap escapes in a file', () => {
  it('counts heaplens diagnostics of kind moved-to-heap and escapes-to-heap only', () => {
    const s = summarize('a.go', [
      heap('escapes-to-heap'),
      heap('escapes-to-heap'),
      heap('moved-to-heap'),
      heap('leaking-param'),
      heap('inlining'),
      heap('escapes-to-heap', 'compiler'), // gopls's own compiler details are not ours
      { source: 'heaplens', code: { value: 'moved-to-heap' } },
      { source: 'heaplens' },
    ]);
    assert.deepEqual(s, { name: 'a.go', heapEscapes: 4, stale: false });
  });

  it('notices the stale hint', () => {
    assert.equal(summarize('a.go', [heap('stale'), heap('escapes-to-heap')]).stale, true);
    assert.equal(summarize('a.go', [heap('stale', 'gopls')]).stale, false);
  });
});

describe('the status bar states', () => {
  const file = { name: 'hotpath.go', heapEscapes: 10, stale: false };
  const view = (input: Partial<StatusInput>) =>
    statusView({ server: { kind: 'idle' }, workspaceTrusted: true, file, ...input });

  it('idle: the count for the active file', () => {
    const v = view({});
    assert.equal(v.state, 'idle');
    assert.equal(v.text, '$(check) heaplens: 10 heap escapes');
    assert.match(v.tooltip, /hotpath\.go: 10 values escape to the heap/);
    assert.ok(v.tooltip.endsWith(CLICK_HINT));
    assert.equal(v.background, undefined);
    assert.equal(v.visible, true);
    assert.equal(view({ file: { ...file, heapEscapes: 1 } }).text, '$(check) heaplens: 1 heap escape');
    assert.equal(view({ file: { ...file, heapEscapes: 0 } }).text, '$(check) heaplens: 0 heap escapes');
  });

  it('analysing: a spinner, still with the count', () => {
    const v = view({ server: { kind: 'analysing', directory: '/ws/hotpath' } });
    assert.equal(v.state, 'analysing');
    assert.equal(v.text, '$(sync~spin) heaplens: 10 heap escapes');
    assert.match(v.tooltip, /analysing \/ws\/hotpath/);
  });

  it('stale: the package does not compile now', () => {
    const v = view({ file: { ...file, stale: true } });
    assert.equal(v.state, 'stale');
    assert.equal(v.text, '$(history) heaplens: 10 heap escapes (stale)');
    assert.equal(v.background, 'statusBarItem.warningBackground');
    assert.match(v.tooltip, /last good build/);
    // An analysis in flight wins over stale: it may fix it.
    assert.equal(view({ file: { ...file, stale: true }, server: { kind: 'analysing', directory: '' } }).state, 'analysing');
  });

  it('paused: the active file’s package is in heaplens.exclude', () => {
    const v = view({ file: { ...file, paused: true } });
    assert.equal(v.state, 'paused');
    assert.equal(v.text, '$(debug-pause) heaplens: paused');
    assert.match(v.tooltip, /paused in this package/);
    assert.match(v.tooltip, /resume in this package/);
    assert.ok(!v.tooltip.includes('values escape'), 'no count: nothing is analysed');
    // Another package's analysis says nothing about this one.
    const other = view({ file: { ...file, paused: true }, server: { kind: 'analysing', directory: '/ws/x' } });
    assert.equal(other.state, 'paused');
    // What is wrong with the server or the workspace still shows.
    assert.equal(view({ file: { ...file, paused: true }, server: { kind: 'error', message: 'x' } }).state, 'error');
    assert.equal(view({ file: { ...file, paused: true }, workspaceTrusted: false }).state, 'restricted');
    assert.equal(view({ file: { ...file, paused: false } }).state, 'idle');
  });

  it('error: the toolchain failed, with the server’s message', () => {
    const v = view({ server: { kind: 'error', message: 'go not found on PATH' } });
    assert.equal(v.state, 'error');
    assert.equal(v.text, '$(error) heaplens: 10 heap escapes');
    assert.equal(v.background, 'statusBarItem.errorBackground');
    assert.match(v.tooltip, /go not found on PATH/);
    assert.equal(view({ server: { kind: 'error', message: 'x' }, file: undefined }).visible, true);
  });

  it('restricted: an untrusted workspace says so, whatever the server says', () => {
    for (const server of [{ kind: 'idle' }, { kind: 'error', message: 'x' }] as const) {
      const v = view({ workspaceTrusted: false, server });
      assert.equal(v.state, 'restricted');
      assert.equal(v.text, '$(shield) heaplens: restricted');
      assert.match(v.tooltip, /not trusted.*does not run go/);
    }
  });

  it('stopped and starting', () => {
    const stopped = view({ server: { kind: 'stopped', message: 'the heaplens server was not found' }, file: undefined });
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.text, '$(circle-slash) heaplens');
    assert.equal(stopped.visible, true);
    assert.equal(stopped.background, 'statusBarItem.errorBackground');
    assert.match(stopped.tooltip, /not running: the heaplens server was not found/);
    assert.equal(view({ server: { kind: 'starting' } }).text, '$(loading~spin) heaplens');
  });

  it('is hidden without a Go file unless something is wrong', () => {
    assert.equal(view({ file: undefined }).visible, false);
    assert.equal(view({ file: undefined, server: { kind: 'analysing', directory: '' } }).visible, false);
  });

  it('reads heaplens/status notifications', () => {
    assert.deepEqual(fromNotification({ state: 'analysing', directory: '/d', message: '' }), { kind: 'analysing', directory: '/d' });
    assert.deepEqual(fromNotification({ state: 'idle', directory: '/d', message: '' }), { kind: 'idle' });
    assert.deepEqual(fromNotification({ state: 'error', directory: '/d', message: 'go is too old' }), {
      kind: 'error',
      message: 'go is too old',
    });
    assert.equal(fromNotification({ state: 'dancing' }), undefined);
    assert.equal(fromNotification(null), undefined);
  });

  it('says which profile is loaded, or why none is', () => {
    const loaded = profileFromNotification({ state: 'idle', profile: 'mem.out', profileNote: '' });
    assert.deepEqual(loaded, { label: 'mem.out', note: '' });
    const shown = view({ profile: loaded });
    assert.ok(shown.text.endsWith(' · mem.out'), shown.text);
    assert.ok(shown.tooltip.includes('weighed by the profile mem.out'), shown.tooltip);
    const none = profileFromNotification({ state: 'idle', profile: '', profileNote: 'no file matches the profile setting' });
    const unmatched = view({ profile: none });
    assert.ok(!unmatched.text.includes('·'), unmatched.text);
    assert.ok(unmatched.tooltip.includes('Profile: no file matches the profile setting.'), unmatched.tooltip);
    assert.equal(profileFromNotification({ state: 'idle' }), undefined, 'a server from before profiles');
  });
});

describe('the status bar item (vscode stubbed)', () => {
  beforeEach(() => stub.reset());
  const goFile = Uri.file('/ws/hotpath/hotpath.go');

  it('follows the active editor, its diagnostics, the server and the trust', () => {
    const bar = new StatusBar();
    const item = stub.statusBarItems[0];
    assert.equal(item.command, 'heaplens.showOutput', 'a click opens the output');
    assert.equal(item.visible, false, 'no Go file yet');

    stub.activeTextEditor = { document: { uri: goFile, languageId: 'go' } };
    stub.diagnostics.set(goFile.toString(), [heap('escapes-to-heap'), heap('moved-to-heap'), heap('leaking-param')]);
    stub.onDidChangeActiveTextEditor.fire(undefined);
    bar.setServer({ kind: 'idle' });
    assert.equal(item.visible, true);
    assert.equal(item.text, '$(check) heaplens: 2 heap escapes');

    stub.diagnostics.set(goFile.toString(), [heap('escapes-to-heap')]);
    stub.onDidChangeDiagnostics.fire({ uris: [Uri.file('/elsewhere.go')] });
    assert.equal(item.text, '$(check) heaplens: 2 heap escapes', 'other files do not matter');
    stub.onDidChangeDiagnostics.fire({ uris: [goFile] });
    assert.equal(item.text, '$(check) heaplens: 1 heap escape');

    bar.setServer({ kind: 'analysing', directory: '/ws/hotpath' });
    assert.equal(bar.view.state, 'analysing');
    bar.setServer({ kind: 'error', message: 'go: not found' });
    assert.equal((item.backgroundColor as { id: string }).id, 'statusBarItem.errorBackground');
    bar.setServer({ kind: 'idle' });
    assert.equal(item.backgroundColor, undefined);

    bar.setTrusted(false);
    assert.equal(item.text, '$(shield) heaplens: restricted');
    bar.setTrusted(true);

    stub.activeTextEditor = { document: { uri: Uri.file('/ws/README.md'), languageId: 'markdown' } };
    stub.onDidChangeActiveTextEditor.fire(undefined);
    assert.equal(item.visible, false);

    bar.dispose();
    assert.equal(item.disposed, true);
  });

  it('falls back to the active tab when no text editor has focus', () => {
    const bar = new StatusBar();
    const item = stub.statusBarItems[0];
    bar.setServer({ kind: 'idle' });
    stub.textDocuments = [{ uri: goFile, languageId: 'go' }];
    stub.diagnostics.set(goFile.toString(), [heap('escapes-to-heap'), heap('moved-to-heap')]);
    stub.activeTabInput = new TabInputText(goFile);
    stub.onDidChangeTabs.fire(undefined);
    assert.equal(item.visible, true);
    assert.equal(item.text, '$(check) heaplens: 2 heap escapes');
    stub.diagnostics.set(goFile.toString(), []);
    stub.onDidChangeDiagnostics.fire({ uris: [goFile] });
    assert.equal(item.text, '$(check) heaplens: 0 heap escapes');
    stub.activeTabInput = { viewType: 'workspaceTrust' }; // a custom editor, not a text file
    stub.onDidChangeTabs.fire(undefined);
    assert.equal(item.visible, false);
    bar.dispose();
  });

  it('shows paused for the active file’s package only', () => {
    const bar = new StatusBar();
    const item = stub.statusBarItems[0];
    bar.setServer({ kind: 'idle' });
    stub.activeTextEditor = { document: { uri: goFile, languageId: 'go' } };
    stub.onDidChangeActiveTextEditor.fire(undefined);
    bar.setPaused('/ws/other', true);
    assert.equal(bar.view.state, 'idle');
    bar.setPaused('/ws/hotpath', true);
    assert.equal(item.text, '$(debug-pause) heaplens: paused');
    bar.setPaused('/ws/hotpath/', false);
    assert.equal(bar.view.state, 'idle');
    bar.dispose();
  });

  it('starts restricted in an untrusted workspace', () => {
    stub.isTrusted = false;
    stub.activeTextEditor = { document: { uri: goFile, languageId: 'go' } };
    const bar = new StatusBar();
    bar.setServer({ kind: 'idle' });
    assert.equal(bar.view.state, 'restricted');
    bar.dispose();
  });
});
