/**
 * Makes `require('vscode')` load the stub in ./vscode. Import this first in a test that
 * loads a module which imports `vscode`.
 */
import Module = require('node:module');
import * as path from 'node:path';

const stubPath = path.join(__dirname, 'vscode.js');
type Resolve = (request: string, ...rest: unknown[]) => string;
const internal = Module as unknown as { _resolveFilename: Resolve };
const original = internal._resolveFilename;
internal._resolveFilename = function (request: string, ...rest: unknown[]): string {
  return request === 'vscode' ? stubPath : original.call(this, request, ...rest);
};
