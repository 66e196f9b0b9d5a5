import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { resultMessage, WorkspaceProgressRelay } from '../../src/workspaceRun';

function setup() {
  const cancels: (string | number)[] = [];
  const reports: { message?: string; increment?: number }[] = [];
  const relay = new WorkspaceProgressRelay((t) => cancels.push(t));
  return { relay, cancels, reports, sink: { report: (v: { message?: string; increment?: number }) => reports.push(v) } };
}

describe('Analyze Workspace progress', () => {
  it('claims the server’s cancellable progress and forwards its reports', () => {
    const { relay, reports, sink } = setup();
    assert.equal(relay.handle('w', { kind: 'begin', title: 'x', cancellable: true }), false, 'no run: not ours');
    relay.start(sink);
    // A per-package progress (not cancellable) is left to the client.
    assert.equal(relay.handle('p', { kind: 'begin', title: 'heaplens: analysing hotpath', cancellable: false }), false);
    assert.equal(relay.handle('w', { kind: 'begin', title: 'heaplens: analysing the workspace', cancellable: true, percentage: 0 }), true);
    assert.equal(relay.handle('w', { kind: 'report', message: '1/4 a', percentage: 25 }), true);
    assert.equal(relay.handle('w', { kind: 'report', message: '3/4 c', percentage: 75 }), true);
    assert.equal(relay.handle('p', { kind: 'report', message: 'other' }), false);
    assert.equal(relay.handle('w', { kind: 'end', message: 'done' }), false, 'end reaches the client');
    assert.deepEqual(reports, [
      { message: '1/4 a', increment: 25 },
      { message: '3/4 c', increment: 50 },
    ]);
    relay.finish();
    assert.equal(relay.active, false);
  });

  it('sends window/workDoneProgress/cancel for the server’s token, even when Cancel came first', () => {
    const a = setup();
    a.relay.start(a.sink);
    a.relay.handle('t1', { kind: 'begin', cancellable: true });
    a.relay.cancel();
    a.relay.cancel();
    assert.deepEqual(a.cancels, ['t1']);

    const b = setup();
    b.relay.start(b.sink);
    b.relay.cancel();
    assert.deepEqual(b.cancels, []);
    b.relay.handle(7, { kind: 'begin', cancellable: true });
    assert.deepEqual(b.cancels, [7]);
  });

  it('summarises the result', () => {
    assert.equal(resultMessage({ packages: 3, findings: 27, cancelled: false }), 'heaplens: analysed 3 packages, 27 findings.');
    assert.equal(resultMessage({ packages: 1, findings: 1, cancelled: false }), 'heaplens: analysed 1 package, 1 finding.');
    assert.equal(resultMessage({ packages: 1, findings: 0, cancelled: true }), 'heaplens: workspace analysis cancelled.');
    assert.match(resultMessage({ packages: 0, findings: 0, cancelled: false, trusted: false }), /not trusted/);
    assert.match(resultMessage(null), /returned nothing/);
  });
});
