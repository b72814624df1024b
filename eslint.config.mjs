// Lint rules that keep the layers (see README "Layout"): the contract depends only on common/, backends never reach
// the lifecycle, routes call services only, common/ is shared by all three programs and imports none of them.
// Type-aware: promises are awaited or marked `void`, switches over unions are exhaustive. Formatting is prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** no-restricted-imports groups: the named top-level folders, as relative imports from up to three levels deep. */
const folders = (root, ...names) =>
  names.flatMap((n) => ['../', '../../', '../../../'].flatMap((up) => [`${up}${root}${n}`, `${up}${root}${n}/**`]));
const restrict = (message, group) => ({ 'no-restricted-imports': ['error', { patterns: [{ group, message }] }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'media/**', 'test-results/**', '.hangar-test/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // The codebase crosses untyped JSON and library boundaries on purpose in a few places.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: restrict(
      'common/ is shared by the daemon, the CLI and the extension: it imports none of them',
      folders('', 'daemon', 'cli', 'extension', 'webviews'),
    ),
  },
  // daemon/contract/*.ts: anything outside the folder but common/ is off limits.
  {
    files: ['daemon/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./(?!\\.\\./common(/|$))', message: 'the contract depends on common/ only' }] },
      ],
    },
  },
  {
    files: ['daemon/backends/**/*.ts'],
    rules: restrict(
      'backends import the contract and backends/shared, never the lifecycle, services, store or routes',
      folders('', 'environments', 'services', 'store', 'http', 'gpu'),
    ),
  },
  // daemon/jumpserver: an adapter for JumpServer's API, beside the backends: services use it, it uses none of them.
  {
    files: ['daemon/jumpserver/**/*.ts'],
    rules: restrict(
      'daemon/jumpserver speaks to JumpServer only: services/ and environments/ call it, it never calls them',
      folders('', 'environments', 'services', 'store', 'http', 'gpu', 'backends'),
    ),
  },
  // daemon/objectstore: S3 clients for the configured stores, beside the backends: services use it, it uses none.
  {
    files: ['daemon/objectstore/**/*.ts'],
    rules: restrict(
      'daemon/objectstore speaks S3 only: services/ and environments/ call it, it never calls them',
      folders('', 'environments', 'services', 'store', 'http', 'gpu', 'backends', 'jumpserver'),
    ),
  },
  {
    files: ['daemon/http/routes/**/*.ts'],
    rules: restrict('routes call services only', [
      '../../store',
      '../../store/**',
      '../../backends',
      '../../backends/**',
    ]),
  },
  {
    files: ['cli/**/*.ts'],
    rules: restrict('the CLI talks to the gateway through common/client', folders('', 'daemon', 'extension')),
  },
  prettier,
);
