// Bundles the in-extension-host suite (mocha stays a runtime dependency from node_modules).
import { build } from 'esbuild';

await build({
  entryPoints: ['test/extension/index.ts'],
  outfile: 'dist/test/extension/index.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['vscode', 'mocha', 'bufferutil', 'utf-8-validate', '*.node', 'cpu-features'],
  logLevel: 'warning',
});
