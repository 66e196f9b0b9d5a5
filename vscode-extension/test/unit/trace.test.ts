import '../stubs/register';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { TraceChannel } from '../../src/trace';
import { LogLevel } from '../stubs/vscode';

function fakeOutput() {
  const lines: string[] = [];
  const out = {
    name: 'heaplens',
    appendLine: (l: string) => lines.push(l),
    info: (l: string) => lines.push(`[info] ${l}`),
  };
  return { lines, out: out as never };
}

describe('heaplens.trace.server', () => {
  it('turns the client’s protocol trace on and off through the log level', () => {
    const { lines, out } = fakeOutput();
    const channel = new TraceChannel(out, 'off');
    const levels: LogLevel[] = [];
    channel.onDidChangeLogLevel((l) => levels.push(l as unknown as LogLevel));
    assert.equal(channel.logLevel as unknown, LogLevel.Info);
    channel.trace('[Trace] Sending request initialize');
    assert.deepEqual(lines, [], 'no trace while off');

    channel.setTrace('verbose');
    assert.equal(channel.logLevel as unknown, LogLevel.Trace);
    channel.trace('[Trace] Sending request hover');
    assert.deepEqual(lines, ['[Trace] Sending request hover']);

    channel.setTrace('messages'); // same level: no event
    channel.setTrace('off');
    assert.deepEqual(levels, [LogLevel.Trace, LogLevel.Info]);

    channel.info('other logging goes through');
    assert.deepEqual(lines.at(-1), '[info] other logging goes through');
    assert.equal(channel.name, 'heaplens');
  });

  it('starts tracing when the setting is already on', () => {
    const { out } = fakeOutput();
    assert.equal(new TraceChannel(out, 'messages').logLevel as unknown, LogLevel.Trace);
    assert.equal(new TraceChannel(out, undefined).logLevel as unknown, LogLevel.Info);
  });
});
