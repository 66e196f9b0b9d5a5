import '../stubs/register';
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { currentServerSettings } from '../../src/config';
import { activateGoExtension, GO_EXTENSION_ID } from '../../src/goExtension';
import { FakeExtension, stub } from '../stubs/vscode';

function goExtension(binPath: string | (() => string), isActive = true): FakeExtension {
  const ext: FakeExtension = {
    isActive,
    exports: {
      settings: {
        getExecutionCommand: (tool: string) => {
          assert.equal(tool, 'go');
          return { binPath: typeof binPath === 'string' ? binPath : binPath() };
        },
      },
    },
    activate: async () => {
      ext.isActive = true;
      return ext.exports;
    },
  };
  return ext;
}

describe('the go binary the server is given', () => {
  beforeEach(() => stub.reset());

  it('is empty (go on PATH) with no Go extension and no setting', () => {
    assert.equal(currentServerSettings().goBinary, '');
  });

  it('is the Go extension’s go when heaplens.goBinary is empty', () => {
    stub.extensions.set(GO_EXTENSION_ID, goExtension('/opt/go1.26/bin/go'));
    assert.equal(currentServerSettings().goBinary, '/opt/go1.26/bin/go');
  });

  it('is heaplens.goBinary whenever that is set', () => {
    stub.extensions.set(GO_EXTENSION_ID, goExtension('/opt/go1.26/bin/go'));
    stub.settings.set(undefined, { 'heaplens.goBinary': '/usr/local/go/bin/go' });
    assert.equal(currentServerSettings().goBinary, '/usr/local/go/bin/go');
  });

  it('ignores a bare "go" from the Go extension (it found none) and an API that throws', () => {
    stub.extensions.set(GO_EXTENSION_ID, goExtension('go'));
    assert.equal(currentServerSettings().goBinary, '');
    stub.extensions.set(
      GO_EXTENSION_ID,
      goExtension(() => {
        throw new Error('changed shape');
      }),
    );
    stub.settings.set(undefined, { 'go.goroot': '/sdk/go1.25' });
    assert.equal(currentServerSettings().goBinary, path.join('/sdk/go1.25', 'bin', 'go'));
  });

  it('reads the Go extension’s settings while it is not active', () => {
    stub.extensions.set(GO_EXTENSION_ID, goExtension('/never/asked', false));
    stub.settings.set(undefined, {
      'go.alternateTools': { go: '/home/me/bin/go-wrapper' },
      'go.goroot': '/sdk/go1.25',
    });
    assert.equal(currentServerSettings().goBinary, '/home/me/bin/go-wrapper');
    stub.settings.set(undefined, { 'go.alternateTools': { go: 'go1.25' }, 'go.goroot': '/sdk/go1.25' });
    assert.equal(currentServerSettings().goBinary, path.join('/sdk/go1.25', 'bin', 'go'));
    stub.settings.set(undefined, { 'go.goroot': 'relative/go' });
    assert.equal(currentServerSettings().goBinary, '');
  });

  it('follows the resource’s folder settings', () => {
    const folder = 'file:///work/a/main.go';
    stub.settings.set(folder, { 'go.goroot': '/sdk/go1.24' });
    assert.equal(currentServerSettings(folder).goBinary, path.join('/sdk/go1.24', 'bin', 'go'));
    assert.equal(currentServerSettings().goBinary, '');
  });
});

describe('waiting for the Go extension', () => {
  beforeEach(() => stub.reset());

  it('has nothing to wait for when it is missing or already active', () => {
    assert.equal(activateGoExtension(), undefined);
    stub.extensions.set(GO_EXTENSION_ID, goExtension('/opt/go/bin/go'));
    assert.equal(activateGoExtension(), undefined);
  });

  it('activates it, and then its go is known', async () => {
    stub.extensions.set(GO_EXTENSION_ID, goExtension('/opt/go/bin/go', false));
    assert.equal(currentServerSettings().goBinary, '');
    await activateGoExtension();
    assert.equal(currentServerSettings().goBinary, '/opt/go/bin/go');
  });

  it('never rejects when its activation fails', async () => {
    const broken = goExtension('/opt/go/bin/go', false);
    broken.activate = () => Promise.reject(new Error('no gopls'));
    stub.extensions.set(GO_EXTENSION_ID, broken);
    await activateGoExtension();
  });
});
