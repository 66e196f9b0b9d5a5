/**
 * `heaplens.trace.server` for vscode-languageclient 11.
 *
 * The client traces the protocol only when its trace channel's log level is Trace, and
 * reads `heaplens.trace.server` just for the verbosity. A user who sets the setting expects
 * the trace without also changing a log level. This channel writes into the heaplens output
 * channel and reports log level Trace exactly when `heaplens.trace.server` is not "off";
 * a change of the setting fires `onDidChangeLogLevel`, which the client listens to.
 */
import * as vscode from 'vscode';

export type TraceSetting = 'off' | 'messages' | 'verbose';

export function traceLevel(setting: unknown): vscode.LogLevel {
  return setting === 'messages' || setting === 'verbose' ? vscode.LogLevel.Trace : vscode.LogLevel.Info;
}

export class TraceChannel implements vscode.LogOutputChannel {
  private level: vscode.LogLevel;
  private readonly emitter = new vscode.EventEmitter<vscode.LogLevel>();
  readonly onDidChangeLogLevel = this.emitter.event;

  constructor(
    private readonly out: vscode.LogOutputChannel,
    setting: unknown,
  ) {
    this.level = traceLevel(setting);
  }

  get name(): string {
    return this.out.name;
  }

  get logLevel(): vscode.LogLevel {
    return this.level;
  }

  /** The setting changed. */
  setTrace(setting: unknown): void {
    const level = traceLevel(setting);
    if (level !== this.level) {
      this.level = level;
      this.emitter.fire(level);
    }
  }

  trace(message: string, ...args: unknown[]): void {
    if (this.level === vscode.LogLevel.Trace) {
      this.out.appendLine(args.length ? `${message} ${args.map(String).join(' ')}` : message);
    }
  }
  debug(message: string, ...args: unknown[]): void {
    this.out.debug(message, ...args);
  }
  info(message: string, ...args: unknown[]): void {
    this.out.info(message, ...args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.out.warn(message, ...args);
  }
  error(error: string | Error, ...args: unknown[]): void {
    this.out.error(error, ...args);
  }
  append(value: string): void {
    this.out.append(value);
  }
  appendLine(value: string): void {
    this.out.appendLine(value);
  }
  replace(value: string): void {
    this.out.replace(value);
  }
  clear(): void {
    this.out.clear();
  }
  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(a?: boolean | vscode.ViewColumn, b?: boolean): void {
    if (typeof a === 'boolean' || a === undefined) {
      this.out.show(a);
    } else {
      this.out.show(a, b);
    }
  }
  hide(): void {
    this.out.hide();
  }
  /** The heaplens channel outlives this adapter; only the emitter is ours. */
  dispose(): void {
    this.emitter.dispose();
  }
}
