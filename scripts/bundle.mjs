// Bundles the daemon, the CLI and the extension with esbuild. Type-checking is `tsc --noEmit` (npm run build).
import { build } from 'esbuild';
import fs from 'node:fs';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  define: { __HANGAR_VERSION__: JSON.stringify(pkg.version) },
  // Optional native speed-ups that the pure-JS code paths don't need.
  external: ['cpu-features', 'bufferutil', 'utf-8-validate', '*.node'],
};

await Promise.all([
  // The daemon runs beside its node_modules (better-sqlite3 is native).
  build({ ...common, entryPoints: ['daemon/main.ts'], outfile: 'dist/hangard.js', packages: 'external' }),
  // The CLI is self-contained: the extension ships it as the SSH ProxyCommand.
  build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/hangar.js', minify: true }),
  // Webview scripts run in the browser: one ES module each (noVNC uses top-level await).
  build({
    ...common,
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
    entryPoints: ['webviews/desktop/main.ts'],
    outfile: 'dist/webviews/desktop.js',
    minify: true,
    external: [],
  }),
  ...(fs.existsSync('extension/extension.ts')
    ? [
        build({
          ...common,
          entryPoints: ['extension/extension.ts'],
          outfile: 'dist/extension.js',
          minify: true,
          external: [...common.external, 'vscode'],
        }),
      ]
    : []),
]);
