// Bundles the extension and vscode-languageclient into one file, dist/extension.js.
//   node esbuild.mjs               a development build, with a source map
//   node esbuild.mjs --production  minified, as packaged into the .vsix
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';

const production = process.argv.includes('--production');

rmSync('dist', { recursive: true, force: true });

await esbuild.build({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  outfile: 'dist/extension.js',
  platform: 'node',
  format: 'cjs',
  // VS Code 1.91 runs extensions on Node 20.
  target: 'node20',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
});
