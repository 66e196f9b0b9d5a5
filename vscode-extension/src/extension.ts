/**
 * The heaplens extension: finds the heaplens language server, starts it with
 * vscode-languageclient for Go files, keeps its settings in step, and shows its state.
 *
 * The decisions live in plain modules that tests run without VS Code: `discovery` (which
 * server to start), `settings` (the flat settings object), `status` (the status bar),
 * `workspaceRun` (the Analyze Workspace progress), `findingsTree` (the Heap Escapes view's
 * tree, which `findingsView` shows). This file wires them to VS Code.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  CancellationToken,
  ConfigurationParams,
  DidChangeConfigurationNotification,
  ExecuteCommandParams,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';
import { Discovery, discoverServer, notFoundMessage } from './discovery';
import { bundledLauncher, probeBundled, probePython, resolveExecutable } from './nodeHost';
import { pythonExtensionInterpreter } from './python';
import { config, currentServerSettings, SECTION } from './config';
import { activateGoExtension } from './goExtension';
import { affectsServer, affectsServerProcess, answerConfiguration, toggleTarget } from './settings';
import { FindingsView } from './findingsView';
import { ListResult } from './findingsTree';
import { fromNotification, profileFromNotification } from './status';
import { registerPauseCommands } from './pauseCommands';
import { pausedFromNotification } from './pause';
import { SHOW_OUTPUT_COMMAND, StatusBar } from './statusBar';
import { TraceChannel } from './trace';
import { ProgressValue, resultMessage, WorkspaceProgressRelay, WorkspaceResult } from './workspaceRun';

export const STATUS_NOTIFICATION = 'heaplens/status';
/** The server says the set of findings changed: the Heap Escapes view asks again. */
export const FINDINGS_CHANGED = 'heaplens/findingsChanged';
export const LIST_FINDINGS = 'heaplens.listFindings';
/** The server's command, and the extension's command of the same name. */
export const ANALYZE_WORKSPACE = 'heaplens.analyzeWorkspace';
export const COMMANDS = {
  restart: 'heaplens.restartServer',
  analyzeWorkspace: ANALYZE_WORKSPACE,
  toggleInlayHints: 'heaplens.toggleInlayHints',
  showOutput: SHOW_OUTPUT_COMMAND,
} as const;

/** Server commands the extension registers itself (with its own progress and summary). */
const OWN_COMMANDS = new Set<string>([ANALYZE_WORKSPACE]);
/** How long the server's start waits for the Go extension to say which go it uses. */
const GO_EXTENSION_WAIT_MS = 3000;

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** Starts and stops run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  /** The "not found" notification is shown once a session, not on every restart. */
  private notFoundShown = false;
  readonly relay: WorkspaceProgressRelay;
  /** Fired when the findings the server holds may have changed (or the server did). */
  private readonly findingsChanged = new vscode.EventEmitter<void>();
  readonly onFindingsChanged = this.findingsChanged.event;

  constructor(
    private readonly extensionPath: string,
    private readonly output: vscode.LogOutputChannel,
    private readonly trace: TraceChannel,
    private readonly status: StatusBar,
  ) {
    this.relay = new WorkspaceProgressRelay((token) => {
      void this.client?.sendNotification(WorkDoneProgressCancelNotification.type, { token });
    });
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** A server command's answer; undefined when no server runs. */
  async executeServerCommand(command: string, args: unknown[]): Promise<unknown> {
    const client = this.client;
    if (!client || !this.running) {
      return undefined;
    }
    const params: ExecuteCommandParams = { command, arguments: args };
    return client.sendRequest(ExecuteCommandRequest.type, params);
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step);
    return this.queue;
  }

  private async discover(): Promise<Discovery> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const c = config(folder);
    return discoverServer(
      {
        serverPath: c.get<string>('server.path', ''),
        python: c.get<string>('server.python', ''),
        workspaceTrusted: vscode.workspace.isTrusted,
      },
      {
        platform: process.platform,
        home: os.homedir(),
        workspaceFolder: folder?.fsPath,
        resolveExecutable: (p) => resolveExecutable(p),
        probePython: (command) => probePython(command),
        pythonExtensionInterpreter: () => pythonExtensionInterpreter(folder),
        bundledLauncher: bundledLauncher(this.extensionPath),
        probeBundled: (command) => probeBundled(command),
      },
    );
  }

  private async doStart(): Promise<void> {
    if (this.client) {
      return;
    }
    this.status.setServer({ kind: 'starting' });
    const discovery = await this.discover();
    for (const attempt of discovery.tried) {
      this.output.info(`server discovery: ${attempt.source}: ${attempt.detail}`);
    }
    const server = discovery.server;
    if (!server) {
      const message = notFoundMessage(discovery);
      this.output.error(message);
      this.status.setServer({
        kind: 'stopped',
        message: discovery.noPython ? 'heaplens needs Python 3.10 or newer' : 'the heaplens server was not found',
      });
      if (this.notFoundShown) {
        return;
      }
      this.notFoundShown = true;
      void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'heaplens.server');
        } else if (choice === 'Show Output') {
          this.output.show(true);
        }
      });
      return;
    }
    const version = server.version ? ` (heaplens ${server.version})` : '';
    this.output.info(`starting ${[server.command, ...server.args].join(' ')} from ${server.source}${version}`);

    const serverOptions: ServerOptions = {
      command: server.command,
      args: server.args,
      // No `transport`: plain stdio, and the client adds no `--stdio` argument.
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env: process.env },
    };
    const client = new LanguageClient(SECTION, 'heaplens', serverOptions, this.clientOptions());
    ownCommandsStayOurs(client);
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      const profile = profileFromNotification(params);
      if (profile) {
        this.status.setProfile(profile);
      }
      const paused = pausedFromNotification(params);
      if (paused) {
        this.status.setPaused(paused.directory, paused.paused);
      }
      const state = fromNotification(params);
      if (state) {
        this.status.setServer(state);
      }
    });
    client.onNotification(FINDINGS_CHANGED, () => this.findingsChanged.fire());
    client.onDidChangeState((event) => {
      this.findingsChanged.fire();
      if (event.newState === State.Running) {
        this.status.setServer({ kind: 'idle' });
      } else if (event.newState === State.Stopped && !this.stopping) {
        this.status.setServer({ kind: 'stopped', message: 'the server stopped; see the output' });
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.output.error(`the heaplens server did not start: ${String(e)}`);
      this.status.setServer({ kind: 'stopped', message: 'the server did not start; see the output' });
      void vscode.window
        .showErrorMessage('heaplens: the language server did not start.', 'Show Output', 'Open Settings')
        .then((choice) => {
          if (choice === 'Show Output') {
            this.output.show(true);
          } else if (choice === 'Open Settings') {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'heaplens.server');
          }
        });
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) {
      return;
    }
    this.stopping = true;
    try {
      if (client.needsStop()) {
        await client.stop();
      }
      await client.dispose();
    } catch (e) {
      this.output.warn(`stopping the server: ${String(e)}`);
    } finally {
      this.stopping = false;
    }
  }

  private clientOptions(): LanguageClientOptions {
    return {
      documentSelector: [{ scheme: 'file', language: 'go' }],
      diagnosticCollectionName: 'heaplens',
      outputChannel: this.output,
      traceOutputChannel: this.trace,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => currentServerSettings(),
      markdown: { isTrusted: false, supportHtml: false },
      middleware: {
        workspace: {
          configuration: (params: ConfigurationParams, token: CancellationToken, next) =>
            answerConfiguration(params.items, currentServerSettings, (items) =>
              Promise.resolve(next({ items }, token)),
            ) as Promise<unknown[]>,
          // The client would push the raw `heaplens` section (with server.path and without
          // workspaceTrusted). `sendSettings` pushes the flat object instead, on every change.
          didChangeConfiguration: async () => undefined,
        },
        handleWorkDoneProgress: (token, params, next) => {
          if (!this.relay.handle(token, params as ProgressValue)) {
            next(token, params);
          }
        },
      },
    };
  }

  /** `workspace/didChangeConfiguration` with the flat object; the server then pulls it too. */
  sendSettings(): void {
    if (this.client && this.running) {
      void this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: currentServerSettings() },
      });
    }
  }

  /** What the server holds now (`heaplens.listFindings`); undefined with no server. */
  async listFindings(): Promise<ListResult | undefined> {
    const client = this.client;
    if (!client || !this.running) {
      return undefined;
    }
    const params: ExecuteCommandParams = { command: LIST_FINDINGS, arguments: [] };
    return (await client.sendRequest(ExecuteCommandRequest.type, params)) as ListResult;
  }

  async analyzeWorkspace(): Promise<WorkspaceResult | undefined> {
    if (!vscode.workspace.isTrusted) {
      const choice = await vscode.window.showWarningMessage(
        'heaplens does not run go in an untrusted workspace.',
        'Manage Workspace Trust',
      );
      if (choice) {
        void vscode.commands.executeCommand('workbench.trust.manage');
      }
      return undefined;
    }
    const client = this.client;
    if (!client || !this.running) {
      const choice = await vscode.window.showErrorMessage(
        'heaplens: the language server is not running.',
        'Restart Server',
        'Show Output',
      );
      if (choice === 'Restart Server') {
        void this.restart();
      } else if (choice === 'Show Output') {
        this.output.show(true);
      }
      return undefined;
    }
    if (this.relay.active) {
      void vscode.window.showInformationMessage('heaplens: the workspace is already being analysed.');
      return undefined;
    }
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: 'heaplens: analysing the workspace',
        cancellable: true,
      },
      async (progress, token) => {
        this.relay.start(progress);
        const cancel = token.onCancellationRequested(() => this.relay.cancel());
        try {
          const params: ExecuteCommandParams = { command: ANALYZE_WORKSPACE, arguments: [] };
          return (await client.sendRequest(ExecuteCommandRequest.type, params)) as WorkspaceResult;
        } finally {
          cancel.dispose();
          this.relay.finish();
        }
      },
    );
    const message = resultMessage(result);
    if (result && !result.cancelled && (result.findings ?? 0) > 0) {
      void vscode.window.showInformationMessage(message, 'Show Problems').then((choice) => {
        if (choice) {
          void vscode.commands.executeCommand('workbench.actions.view.problems');
        }
      });
    } else {
      void vscode.window.showInformationMessage(message);
    }
    return result;
  }

  dispose(): void {
    void this.stop();
    this.findingsChanged.dispose();
  }
}

/**
 * vscode-languageclient registers a VS Code command for every command the server lists in
 * `executeCommandProvider`. The extension registers `heaplens.analyzeWorkspace` itself (so
 * it exists, with a useful message, even when the server is not running, and shows a
 * cancellable notification and a summary); a second registration would fail. Any other
 * server command is still registered by the client.
 */
function ownCommandsStayOurs(client: LanguageClient): void {
  const feature = client.getFeature(ExecuteCommandRequest.method);
  const register = feature.register.bind(feature);
  feature.register = (data) =>
    register({
      ...data,
      registerOptions: {
        ...data.registerOptions,
        commands: data.registerOptions.commands.filter((c) => !OWN_COMMANDS.has(c)),
      },
    });
}

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('heaplens', { log: true });
  const trace = new TraceChannel(output, config().get('trace.server'));
  const status = new StatusBar();
  controller = new Controller(context.extensionPath, output, trace, status);
  const c = controller;
  const findings = new FindingsView(() => c.listFindings(), context.workspaceState);
  context.subscriptions.push(
    findings,
    ...findings.register(),
    c.onFindingsChanged(() => void findings.refresh()),
    output,
    trace,
    status,
    c,
    vscode.commands.registerCommand(COMMANDS.restart, () => c.restart()),
    vscode.commands.registerCommand(COMMANDS.analyzeWorkspace, () => c.analyzeWorkspace()),
    vscode.commands.registerCommand(COMMANDS.toggleInlayHints, () => toggleInlayHints()),
    vscode.commands.registerCommand(COMMANDS.showOutput, () => output.show(true)),
    ...registerPauseCommands(c, status, output),
    vscode.workspace.onDidChangeConfiguration((event) => {
      const affects = (section: string) => event.affectsConfiguration(section);
      if (affects('heaplens.trace.server')) {
        trace.setTrace(config().get('trace.server'));
      }
      if (affectsServerProcess(affects)) {
        output.info('heaplens.server changed: restarting the server');
        void c.restart();
      } else if (affectsServer(affects)) {
        c.sendSettings();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.info('the workspace is now trusted');
      status.setTrusted(true);
      if (c.running) {
        c.sendSettings();
      } else {
        void c.restart();
      }
    }),
  );
  if (!vscode.workspace.isTrusted) {
    output.info('restricted mode: the workspace is not trusted, so the server does not run go');
  }
  const goReady = activateGoExtension();
  if (goReady) {
    // Start with the Go extension's go when it comes quickly; if it comes later, the
    // server hears of it then.
    await Promise.race([goReady, new Promise((resolve) => setTimeout(resolve, GO_EXTENSION_WAIT_MS))]);
    void goReady.then(() => c.sendSettings());
  }
  await c.start();
}

async function toggleInlayHints(): Promise<void> {
  const c = config(vscode.window.activeTextEditor?.document.uri);
  const value = !c.get<boolean>('inlayHints', true);
  const target = {
    global: vscode.ConfigurationTarget.Global,
    workspace: vscode.ConfigurationTarget.Workspace,
    workspaceFolder: vscode.ConfigurationTarget.WorkspaceFolder,
  }[toggleTarget(c.inspect('inlayHints'))];
  await c.update('inlayHints', value, target);
  vscode.window.setStatusBarMessage(`heaplens: inlay hints ${value ? 'on' : 'off'}`, 3000);
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
}
