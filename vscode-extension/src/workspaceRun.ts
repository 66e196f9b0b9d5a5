/**
 * The progress of "Analyze Workspace", shown as one cancellable notification.
 *
 * The server reports `heaplens.analyzeWorkspace` with its own work-done progress
 * (`window/workDoneProgress/create`, then begin/report/end, `cancellable: true`). The
 * language client would show that in the status bar, where VS Code offers no cancel button.
 * While the command runs, this relay claims the server's cancellable progress, forwards its
 * reports to the notification the command opened, and turns a click on Cancel into
 * `window/workDoneProgress/cancel`, which makes the server stop its `go` runs.
 *
 * Pure: no `vscode` import; the sink and the cancel sender are passed in.
 */

export type ProgressToken = string | number;

export interface ProgressValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

/** Where reports go: `vscode.Progress` fits. */
export interface ProgressSink {
  report(value: { message?: string; increment?: number }): void;
}

interface Run {
  sink: ProgressSink;
  token?: ProgressToken;
  reported: number;
  cancelRequested: boolean;
}

export class WorkspaceProgressRelay {
  private run: Run | undefined;

  constructor(private readonly sendCancel: (token: ProgressToken) => void) {}

  get active(): boolean {
    return this.run !== undefined;
  }

  /** The command started: progress from now on belongs to this sink. */
  start(sink: ProgressSink): void {
    this.run = { sink, reported: 0, cancelRequested: false };
  }

  /** The user pressed Cancel. */
  cancel(): void {
    const run = this.run;
    if (!run || run.cancelRequested) {
      return;
    }
    run.cancelRequested = true;
    if (run.token !== undefined) {
      this.sendCancel(run.token);
    }
  }

  /** The command's request returned. */
  finish(): void {
    this.run = undefined;
  }

  /**
   * A work-done progress value from the server. True when the relay took it; then the
   * client's own progress display must not see it (except `end`, which lets the client
   * release its listener, and for which this returns false).
   */
  handle(token: ProgressToken, value: ProgressValue): boolean {
    const run = this.run;
    if (!run) {
      return false;
    }
    if (run.token === undefined && value.kind === 'begin' && value.cancellable === true) {
      run.token = token;
      if (run.cancelRequested) {
        this.sendCancel(token);
      }
    }
    if (run.token !== token) {
      return false;
    }
    if (value.kind === 'end') {
      return false;
    }
    const update: { message?: string; increment?: number } = {};
    if (value.message !== undefined) {
      update.message = value.message;
    }
    if (typeof value.percentage === 'number') {
      const percentage = Math.max(0, Math.min(100, value.percentage));
      const increment = percentage - run.reported;
      if (increment > 0) {
        update.increment = increment;
        run.reported = percentage;
      }
    }
    if (update.message !== undefined || update.increment !== undefined) {
      run.sink.report(update);
    }
    return true;
  }
}

export interface WorkspaceResult {
  packages?: number;
  findings?: number;
  cancelled?: boolean;
  trusted?: boolean;
}

/** The message shown when the command finishes. */
export function resultMessage(result: WorkspaceResult | null | undefined): string {
  if (!result || typeof result !== 'object') {
    return 'heaplens: the workspace analysis returned nothing.';
  }
  if (result.trusted === false) {
    return 'heaplens: the workspace is not trusted, so go was not run.';
  }
  if (result.cancelled) {
    return 'heaplens: workspace analysis cancelled.';
  }
  const p = result.packages ?? 0;
  const f = result.findings ?? 0;
  return `heaplens: analysed ${p} ${p === 1 ? 'package' : 'packages'}, ${f} ${f === 1 ? 'finding' : 'findings'}.`;
}
