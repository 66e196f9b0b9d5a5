import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  excludeTarget,
  isPauseAnswer,
  newExclude,
  PAUSE_COMMANDS,
  pausedFromNotification,
  serverExclude,
  uriArgument,
} from '../../src/pause';

const answer = (pattern: string, exclude: string[], directory = `/ws/${pattern}`) => ({
  directory,
  pattern,
  exclude,
});

describe('the pause and resume commands', () => {
  it('call the server commands of the contract', () => {
    assert.deepEqual(PAUSE_COMMANDS.pause, { client: 'heaplens.pausePackage', server: 'heaplens.pause' });
    assert.deepEqual(PAUSE_COMMANDS.resume, { client: 'heaplens.resumePackage', server: 'heaplens.resume' });
  });

  it('read the server’s answer, and nothing else', () => {
    assert.ok(isPauseAnswer(answer('p', ['p'])));
    assert.ok(!isPauseAnswer(undefined));
    assert.ok(!isPauseAnswer({ directory: '/ws/p', pattern: 'p', exclude: 'p' }));
    assert.ok(!isPauseAnswer({ directory: '/ws/p', pattern: 'p', exclude: [1] }));
  });

  it('take the file from a code action’s string, a Uri, or none', () => {
    assert.equal(uriArgument('file:///ws/p/a.go'), 'file:///ws/p/a.go');
    assert.equal(uriArgument({ scheme: 'file', toString: () => 'file:///ws/q/b.go' }), 'file:///ws/q/b.go');
    assert.equal(uriArgument(undefined), undefined);
    assert.equal(uriArgument(''), undefined);
  });

  it('write to the file’s workspace folder, else the workspace', () => {
    assert.equal(excludeTarget(true), 'workspaceFolder');
    assert.equal(excludeTarget(false), 'workspace');
  });
});

describe('the list written after the answer', () => {
  it('pausing adds the package’s pattern once', () => {
    assert.deepEqual(newExclude('pause', ['gen'], answer('p', ['gen', 'p']), '/ws', false), ['gen', 'p']);
    assert.deepEqual(newExclude('pause', ['gen', 'p'], answer('p', ['gen', 'p']), '/ws', false), ['gen', 'p']);
    // Already paused by a glob: the server's list does not name it, nothing changes.
    assert.deepEqual(
      newExclude('pause', ['vendor/**'], answer('vendor/x', ['vendor/**']), '/ws', false),
      ['vendor/**'],
    );
  });

  it('resuming keeps what the server kept', () => {
    assert.deepEqual(newExclude('resume', ['gen', 'p'], answer('p', ['gen']), '/ws', false), ['gen']);
    assert.deepEqual(newExclude('resume', ['vendor/**', 'gen'], answer('vendor/x', ['gen']), '/ws', false), ['gen']);
    // Several folders: the server saw this folder's patterns made absolute.
    assert.deepEqual(
      newExclude('resume', ['gen', 'p'], answer('p', ['/ws/gen', '/other/q'], '/ws/p'), '/ws', true),
      ['gen'],
    );
  });
});

describe('the list the server reads', () => {
  it('is the folder’s own with one folder, the workspace’s with none', () => {
    assert.deepEqual(serverExclude([{ folder: '/ws', patterns: ['gen', 'vendor/**'] }], []), ['gen', 'vendor/**']);
    assert.deepEqual(serverExclude([], ['/abs/p']), ['/abs/p']);
  });

  it('anchors each folder’s relative patterns under it with several folders', () => {
    assert.deepEqual(
      serverExclude(
        [
          { folder: '/a', patterns: ['gen', '/abs/x'] },
          { folder: '/b', patterns: ['gen', '/abs/x'] },
        ],
        [],
      ),
      ['/a/gen', '/abs/x', '/b/gen'],
    );
  });
});

describe('paused in heaplens/status', () => {
  it('is read with its directory', () => {
    assert.deepEqual(pausedFromNotification({ state: 'idle', directory: '/ws/p', paused: true }), {
      directory: '/ws/p',
      paused: true,
    });
    assert.equal(pausedFromNotification({ state: 'idle', directory: '/ws/p' }), undefined, 'an older server');
    assert.equal(pausedFromNotification({ state: 'idle', directory: '', paused: false }), undefined);
    assert.equal(pausedFromNotification(null), undefined);
  });
});
