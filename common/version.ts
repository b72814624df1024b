// Replaced at bundle time by esbuild's define; the fallback serves tsx/mocha runs.
declare const __HANGAR_VERSION__: string | undefined;
export const VERSION: string = typeof __HANGAR_VERSION__ === 'string' ? __HANGAR_VERSION__ : '0.1.0-dev';
