import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

/** The extension's directory (out/test/unit/ → ../../..). */
export const EXTENSION_DIR = path.resolve(__dirname, '..', '..', '..');

export function packageJson(): any {
  return JSON.parse(readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));
}

/**
 * A Python interpreter that imports heaplens, for the tests that compare with the real
 * server: $HEAPLENS_PYTHON, else the interpreter of the `heaplens` script named by
 * $HEAPLENS_SERVER or found on PATH, else python3. Undefined when none has heaplens.
 */
export function heaplensPython(): string | undefined {
  const candidates: string[] = [];
  if (process.env.HEAPLENS_PYTHON) {
    candidates.push(process.env.HEAPLENS_PYTHON);
  }
  const script = process.env.HEAPLENS_SERVER || whichSync('heaplens');
  if (script && existsSync(script)) {
    const first = readFileSync(realpathSync(script), 'utf8').split('\n', 1)[0];
    if (first.startsWith('#!')) {
      candidates.push(first.slice(2).trim().split(/\s+/)[0]);
    }
  }
  candidates.push('python3');
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import heaplens.lsp.settings'], { stdio: 'ignore', timeout: 20_000 });
      return python;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export function whichSync(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    if (dir && existsSync(file)) {
      return file;
    }
  }
  return undefined;
}
