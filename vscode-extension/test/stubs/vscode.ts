/**
 * A small stand-in for the `vscode` module: just what config.ts, statusBar.ts and trace.ts
 * use, with its state in `stub` so tests can set it and read what the code did.
 */

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  readonly event = (listener: (e: T) => void): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      l(e);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export enum LogLevel {
  Off = 0,
  Trace = 1,
  Debug = 2,
  Info = 3,
  Warning = 4,
  Error = 5,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static parse(value: string): Uri {
    const m = /^([a-z]+):\/\/(.*)$/.exec(value);
    return m ? new Uri(m[1], m[2]) : new Uri('file', value);
  }
  static file(path: string): Uri {
    return new Uri('file', path);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class TabInputText {
  constructor(readonly uri: Uri) {}
}

export interface FakeStatusBarItem {
  id: string;
  name?: string;
  text: string;
  tooltip?: string;
  command?: string;
  backgroundColor?: ThemeColor;
  visible: boolean;
  disposed: boolean;
  show(): void;
  hide(): void;
  dispose(): void;
}

export interface FakeDocument {
  uri: Uri;
  languageId: string;
}

export interface FakeExtension {
  isActive: boolean;
  exports: unknown;
  activate(): Promise<unknown>;
}

/** Everything a test controls or inspects. */
export const stub = {
  /** Settings by scope: the key `undefined` is the window, else a resource's toString(). */
  settings: new Map<string | undefined, Record<string, unknown>>(),
  /** `getConfiguration` calls: [section, resource]. */
  configurationCalls: [] as [string | undefined, string | undefined][],
  isTrusted: true,
  activeTextEditor: undefined as { document: FakeDocument } | undefined,
  /** The input of the active tab (a TabInputText for a text file). */
  activeTabInput: undefined as unknown,
  textDocuments: [] as FakeDocument[],
  onDidChangeTabs: new EventEmitter<unknown>(),
  diagnostics: new Map<string, unknown[]>(),
  statusBarItems: [] as FakeStatusBarItem[],
  onDidChangeActiveTextEditor: new EventEmitter<unknown>(),
  onDidChangeDiagnostics: new EventEmitter<{ uris: Uri[] }>(),
  /** Installed extensions by id. */
  extensions: new Map<string, FakeExtension>(),
  reset(): void {
    this.extensions.clear();
    this.settings.clear();
    this.configurationCalls = [];
    this.isTrusted = true;
    this.activeTextEditor = undefined;
    this.activeTabInput = undefined;
    this.textDocuments = [];
    this.onDidChangeTabs = new EventEmitter();
    this.diagnostics.clear();
    this.statusBarItems = [];
    this.onDidChangeActiveTextEditor = new EventEmitter();
    this.onDidChangeDiagnostics = new EventEmitter();
  },
};

export const workspace = {
  get isTrusted(): boolean {
    return stub.isTrusted;
  },
  get textDocuments(): FakeDocument[] {
    return stub.textDocuments;
  },
  getConfiguration(section?: string, resource?: Uri) {
    stub.configurationCalls.push([section, resource?.toString()]);
    const values = {
      ...(stub.settings.get(undefined) ?? {}),
      ...(resource ? stub.settings.get(resource.toString()) ?? {} : {}),
    };
    const prefix = section ? `${section}.` : '';
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const value = values[prefix + key];
        return (value === undefined ? fallback : value) as T | undefined;
      },
      has(key: string): boolean {
        return values[prefix + key] !== undefined;
      },
    };
  },
};

export const window = {
  get activeTextEditor() {
    return stub.activeTextEditor;
  },
  onDidChangeActiveTextEditor: (l: (e: unknown) => void) => stub.onDidChangeActiveTextEditor.event(l),
  tabGroups: {
    get activeTabGroup() {
      return { activeTab: stub.activeTabInput === undefined ? undefined : { input: stub.activeTabInput } };
    },
    onDidChangeTabs: (l: (e: unknown) => void) => stub.onDidChangeTabs.event(l),
  },
  createStatusBarItem(id: string): FakeStatusBarItem {
    const item: FakeStatusBarItem = {
      id,
      text: '',
      visible: false,
      disposed: false,
      show() {
        this.visible = true;
      },
      hide() {
        this.visible = false;
      },
      dispose() {
        this.disposed = true;
      },
    };
    stub.statusBarItems.push(item);
    return item;
  },
};

export const languages = {
  getDiagnostics(uri: Uri): unknown[] {
    return stub.diagnostics.get(uri.toString()) ?? [];
  },
  onDidChangeDiagnostics: (l: (e: { uris: Uri[] }) => void) => stub.onDidChangeDiagnostics.event(l),
};

export const extensions = {
  getExtension(id: string): FakeExtension | undefined {
    return stub.extensions.get(id);
  },
};
