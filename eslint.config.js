// Lint: typescript-eslint's recommended rules, and the layer boundaries of docs/architecture.md
// ("Layers") enforced as import restrictions, one block per folder. Formatting is prettier's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import patterns (gitignore syntax, matched against the import specifier) for a layer's folder. */
const layer = (name) => [`**/${name}`, `**/${name}/**`, `../${name}`, `../${name}/**`];

const restrict = (message, ...names) => ({ group: names.flatMap(layer), message });

/**
 * SQL lives under db/ (queries in db/queries, a module per aggregate): elsewhere neither drizzle-orm
 * nor the schema is imported. Part of every block below, since a later block's options for the rule
 * replace an earlier one's rather than adding to them.
 */
const SQL_MESSAGE = 'SQL lives under db/queries: call (or add) a query module instead.';
const sqlOnlyInDb = {
  paths: [{ name: 'drizzle-orm', message: SQL_MESSAGE }],
  patterns: [{ group: ['drizzle-orm/*', '**/db/schema', '../db/schema', '../../db/schema'], message: SQL_MESSAGE }],
};

/** A block that forbids importing the given groups (and SQL) from the given files. */
function boundary(files, ...patterns) {
  return {
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: sqlOnlyInDb.paths, patterns: [...patterns, ...sqlOnlyInDb.patterns] },
      ],
    },
  };
}

const noIo = (what) =>
  restrict(
    `${what} is pure: no database, containers, activities, API or workers.`,
    'db',
    'docker',
    'activities',
    'api',
    'workers',
    'stack',
    'storage',
  );

export default tseslint.config(
  {
    ignores: ['node_modules/', '.proctor/', '.test-data/', 'coverage/', 'db/migrations/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      // Unused arguments named with a leading underscore are deliberate (handler signatures).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // TypeScript checks undefined names; the rule does not know TypeScript's globals.
      'no-undef': 'off',
      // Input sanitising matches control characters on purpose (NUL in paths, C0 in cells).
      'no-control-regex': 'off',
    },
  },
  // Tests and benchmarks poke at untyped JSON answers.
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // Code outside db/ runs no SQL of its own; tests and benchmarks may (they set up and inspect records).
  {
    files: ['**/*.ts'],
    ignores: ['db/**', 'test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', sqlOnlyInDb] },
  },
  // Workflows are deterministic and do no I/O: only the workflow SDK, contracts, configuration
  // constants and activity *types* (the proxies need them).
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@temporalio/client', message: 'Workflows talk to Temporal only through @temporalio/workflow.' },
            { name: '@temporalio/worker', message: 'Workflows talk to Temporal only through @temporalio/workflow.' },
            { name: '@temporalio/activity', message: 'Activity context is for activities.' },
            ...sqlOnlyInDb.paths,
          ],
          patterns: [
            { group: ['node:*'], message: 'Workflows do no I/O.' },
            {
              ...restrict('Workflows do no I/O.', 'db', 'docker', 'api', 'workers', 'stack', 'storage'),
              allowTypeImports: true,
            },
            { ...restrict('Workflows import activity types only.', 'activities'), allowTypeImports: true },
            ...sqlOnlyInDb.patterns,
          ],
        },
      ],
    },
  },
  boundary(['scoring/**/*.ts'], noIo('scoring/')),
  boundary(['datasets/**/*.ts'], noIo('datasets/')),
  boundary(['notifications/**/*.ts'], noIo('notifications/')),
  boundary(
    ['contracts/**/*.ts'],
    restrict(
      'contracts/ holds shared declarations: it imports nothing else of the project.',
      'db',
      'docker',
      'activities',
      'api',
      'workers',
      'stack',
      'storage',
      'scoring',
      'workflows',
      'config',
    ),
  ),
  // db/ is where SQL lives, so it is the one folder without the SQL restriction.
  {
    files: ['db/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            restrict(
              'db/ throws domain errors and knows nothing of HTTP, Temporal or containers.',
              'api',
              'activities',
              'workflows',
              'workers',
              'docker',
            ),
          ],
        },
      ],
    },
  },
  boundary(
    ['api/**/*.ts'],
    restrict(
      'The API translates HTTP to records and workflow calls: no activity or worker code.',
      'activities',
      'workers',
    ),
    { ...restrict('The API imports workflow definitions, not workflow code.', 'workflows'), allowTypeImports: true },
  ),
  boundary(['activities/**/*.ts'], restrict('Activities do not reach into the API or workers.', 'api', 'workers'), {
    ...restrict('Activities import workflow types only.', 'workflows'),
    allowTypeImports: true,
  }),
  boundary(
    ['docker/**/*.ts'],
    restrict(
      'docker/ is the container runner: no records, activities or API.',
      'db',
      'activities',
      'api',
      'workflows',
      'workers',
    ),
  ),
  boundary(
    ['temporalClient/**/*.ts'],
    restrict(
      'temporalClient/ holds the Temporal client calls the API and activities share: no records, containers or callers.',
      'db',
      'docker',
      'activities',
      'api',
      'workers',
      'stack',
      'storage',
    ),
    { ...restrict('temporalClient/ imports workflow definitions, not workflow code.', 'workflows'), allowTypeImports: true },
  ),
  boundary(
    ['temporal.config.ts'],
    restrict(
      'temporal.config.ts imports nothing of the project.',
      'db',
      'docker',
      'activities',
      'api',
      'workers',
      'workflows',
      'stack',
    ),
  ),
);
