import '../stubs/register';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { beforeEach, describe, it } from 'node:test';
import { currentServerSettings } from '../../src/config';
import {
  affectsServer,
  affectsServerProcess,
  answerConfiguration,
  CLIENT_KEYS,
  KINDS,
  SERVER_DEFAULTS,
  SERVER_KEYS,
  serverSettings,
  toggleTarget,
} from '../../src/settings';
import { stub } from '../stubs/vscode';
import { heaplensPython, packageJson } from './helpers';

const DEFAULT_FLAT = {
  mode: 'onType',
  debounceMs: 300,
  kinds: ['assertion', 'directive', 'escapes-to-heap', 'leaking-param', 'moved-to-heap'],
  severity: {
    'moved-to-heap': 'information',
    'escapes-to-heap': 'information',
    'leaking-param': 'hint',
    inlining: 'hint',
    'cannot-inline': 'hint',
    'bounds-check': 'information',
    'nil-check': 'information',
    assertion: 'error',
    directive: 'warning',
  },
  inlayHints: true,
  goBinary: '',
  buildFlags: [],
  env: {},
  diagnoseUnopenedFiles: true,
  tests: true,
  timeout: 120,
  allowNetwork: false,
  profile: [],
  profileHotShare: 0.05,
  exclude: [],
  workspaceTrusted: true,
};

describe('the flat settings object', () => {
  it('has every server key with its default, and the trust state', () => {
    assert.deepEqual(serverSettings(() => undefined, true), DEFAULT_FLAT);
    assert.deepEqual(serverSettings(() => undefined, false), { ...DEFAULT_FLAT, workspaceTrusted: false });
  });

  it('passes the user’s values, is flat, and leaves out the extension’s own settings', () => {
    const user: Record<string, unknown> = {
      mode: 'onSave',
      debounceMs: 50,
      kinds: ['inlining'],
      severity: { 'escapes-to-heap': 'warning' },
      buildFlags: ['-tags=x'],
      env: { GOFLAGS: '-mod=vendor' },
      'server.path': '/x/heaplens',
      'trace.server': 'verbose',
      'server.python': '/py',
    };
    const flat = serverSettings((key) => user[key], true) as unknown as Record<string, unknown>;
    assert.equal(flat.mode, 'onSave');
    assert.equal(flat.debounceMs, 50);
    assert.deepEqual(flat.kinds, ['inlining']);
    assert.deepEqual(flat.severity, { 'escapes-to-heap': 'warning' });
    assert.deepEqual(flat.env, { GOFLAGS: '-mod=vendor' });
    assert.equal('heaplens' in flat, false, 'not wrapped');
    assert.deepEqual(Object.keys(flat).sort(), [...SERVER_KEYS, 'workspaceTrusted'].sort());
  });

  it('passes a bad value on unchanged: the server warns once and uses its default', () => {
    const flat = serverSettings((key) => (key === 'mode' ? 'sometimes' : undefined), true);
    assert.equal(flat.mode as string, 'sometimes');
  });

  it('returns copies: editing the object does not touch the defaults or the source', () => {
    const source = { kinds: ['inlining'] };
    const flat = serverSettings((key) => (source as Record<string, unknown>)[key], true);
    flat.kinds.push('cannot-inline');
    flat.severity['moved-to-heap'] = 'error';
    assert.deepEqual(source.kinds, ['inlining']);
    assert.equal(SERVER_DEFAULTS.severity['moved-to-heap'], 'information');
  });

  it('tells which changes reach the server and which need a new process', () => {
    const only = (...sections: string[]) => (s: string) => sections.some((x) => x === s || x.startsWith(`${s}.`));
    assert.equal(affectsServer(only('heaplens.debounceMs')), true);
    assert.equal(affectsServer(only('heaplens.trace.server')), false);
    assert.equal(affectsServer(only('go.toolsEnvVars')), false);
    // The Go extension's choice of go stands in for an empty heaplens.goBinary.
    assert.equal(affectsServer(only('go.goroot')), true);
    assert.equal(affectsServer(only('go.alternateTools')), true);
    assert.equal(affectsServerProcess(only('heaplens.server.path')), true);
    assert.equal(affectsServerProcess(only('heaplens.server.python')), true);
    assert.equal(affectsServerProcess(only('heaplens.kinds')), false);
  });
});

describe('settings from VS Code (vscode stubbed)', () => {
  beforeEach(() => stub.reset());

  it('reads heaplens.* into initializationOptions and workspace/configuration alike', async () => {
    stub.settings.set(undefined, { 'heaplens.mode': 'onSave', 'heaplens.inlayHints': false, 'heaplens.server.path': '/hl' });
    const init = currentServerSettings();
    assert.equal(init.mode, 'onSave');
    assert.equal(init.inlayHints, false);
    assert.equal('server' in init, false);
    const answer = await answerConfiguration([{ section: 'heaplens' }], currentServerSettings, () => {
      throw new Error('no other section was asked for');
    });
    assert.deepEqual(answer, [init]);
    assert.ok(stub.configurationCalls.some(([section, scope]) => section === 'heaplens' && scope === undefined));
  });

  it('answers for the resource the server names in scopeUri', async () => {
    stub.settings.set(undefined, { 'heaplens.debounceMs': 100 });
    stub.settings.set('file:///ws/a', { 'heaplens.debounceMs': 900 });
    const answer = (await answerConfiguration(
      [{ section: 'heaplens', scopeUri: 'file:///ws/a' }, { section: 'heaplens' }],
      currentServerSettings,
      () => [],
    )) as { debounceMs: number }[];
    assert.deepEqual(
      answer.map((a) => a.debounceMs),
      [900, 100],
    );
  });

  it('sends workspaceTrusted: false in an untrusted workspace', () => {
    stub.isTrusted = false;
    assert.equal(currentServerSettings().workspaceTrusted, false);
    stub.isTrusted = true;
    assert.equal(currentServerSettings().workspaceTrusted, true);
  });

  it('leaves other sections to the client, in order, and passes its errors on', async () => {
    const answer = await answerConfiguration(
      [{ section: 'go' }, { section: 'heaplens' }, { section: 'editor' }],
      () => serverSettings(() => undefined, true),
      (items) => items.map((i) => `answer for ${i.section}`),
    );
    assert.deepEqual(answer, ['answer for go', DEFAULT_FLAT, 'answer for editor']);
    const error = new Error('cancelled');
    assert.equal(await answerConfiguration([{ section: 'go' }], () => serverSettings(() => undefined, true), async () => error), error);
  });

  it('toggles inlay hints where they are set', () => {
    assert.equal(toggleTarget(undefined), 'global');
    assert.equal(toggleTarget({}), 'global');
    assert.equal(toggleTarget({ workspaceValue: false }), 'workspace');
    assert.equal(toggleTarget({ workspaceValue: false, workspaceFolderValue: true }), 'workspaceFolder');
  });
});

describe('package.json contributes the settings', () => {
  const pkg = packageJson();
  const props: Record<string, any> = pkg.contributes.configuration.properties;

  it('mirrors every server setting with a description, its default and resource scope', () => {
    for (const key of SERVER_KEYS) {
      const p = props[`heaplens.${key}`];
      assert.ok(p, `heaplens.${key} is contributed`);
      assert.ok(p.description || p.markdownDescription, `heaplens.${key} has a description`);
      assert.deepEqual(p.default, SERVER_DEFAULTS[key], `heaplens.${key} default`);
      assert.equal(p.scope, 'resource', `heaplens.${key} scope`);
    }
    for (const key of CLIENT_KEYS) {
      const p = props[`heaplens.${key}`];
      assert.ok(p && (p.description || p.markdownDescription) && p.default !== undefined, key);
      assert.equal(p.scope, 'resource');
    }
    assert.deepEqual(
      Object.keys(props).sort(),
      [...SERVER_KEYS, ...CLIENT_KEYS].map((k) => `heaplens.${k}`).sort(),
      'no other settings',
    );
    assert.equal('heaplens.workspaceTrusted' in props, false, 'trust is not a setting');
  });

  it('has enums where values are a closed set', () => {
    assert.deepEqual(props['heaplens.mode'].enum, ['onType', 'onSave', 'off']);
    assert.deepEqual(props['heaplens.trace.server'].enum, ['off', 'messages', 'verbose']);
    assert.deepEqual(props['heaplens.kinds'].items.enum, [...KINDS]);
    for (const kind of KINDS) {
      assert.deepEqual(props['heaplens.severity'].properties[kind].enum, ['error', 'warning', 'information', 'hint']);
    }
  });

  it('activates on Go files only, and is limited in untrusted workspaces', () => {
    assert.deepEqual(pkg.activationEvents, ['onLanguage:go']);
    const trust = pkg.capabilities.untrustedWorkspaces;
    assert.equal(trust.supported, 'limited');
    for (const key of ['heaplens.server.path', 'heaplens.server.python', 'heaplens.goBinary']) {
      assert.ok(trust.restrictedConfigurations.includes(key), key);
    }
    assert.deepEqual(
      pkg.contributes.commands.map((c: { command: string }) => c.command).sort(),
      [
        'heaplens.analyzeWorkspace',
        'heaplens.findings.applyFix',
        'heaplens.findings.filterByKind',
        'heaplens.findings.open',
        'heaplens.findings.refresh',
        'heaplens.pausePackage',
        'heaplens.restartServer',
        'heaplens.resumePackage',
        'heaplens.showOutput',
        'heaplens.toggleInlayHints',
      ],
    );
  });

  const python = heaplensPython();
  it('has the defaults of the real server', { skip: python ? false : 'no Python with heaplens found' }, () => {
    const code =
      'import json; from heaplens.lsp.settings import Settings, settings_to_json; print(json.dumps(settings_to_json(Settings())))';
    const server = JSON.parse(execFileSync(python as string, ['-c', code], { encoding: 'utf8' }));
    assert.deepEqual(serverSettings(() => undefined, true), server);
  });
});
