// ESLint flat config: typescript-eslint's type-checked rules over the TypeScript sources, the
// recommended JavaScript rules over the plain JavaScript files. Formatting is Prettier's (npm run format).
import js from '@eslint/js';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**', '.venv*/**', 'data/**', 'python/**', 'bench/results/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A leading underscore marks a parameter or binding kept for its position; `{ dropped, ...rest }` drops a field.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The apps reach storage and queues only through @rerank/jobs's ports and the adapters its barrel
    // exports: no adapter files (key names, Lua scripts), no Redis or BullMQ calls of their own.
    files: ['apps/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/libs/*/src/**', '@rerank/*/*'],
              message: 'apps import a library through its barrel (@rerank/jobs, @rerank/engine, ...), never its files',
            },
          ],
          paths: ['ioredis', 'bullmq', 'rate-limiter-flexible'].map((name) => ({
            name,
            allowTypeImports: true,
            message: 'apps reach Redis and BullMQ through the ports and adapters of @rerank/jobs',
          })),
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read HTTP bodies, parsed manifests and metrics as untyped JSON and assert exact values on them.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Fakes and test servers implement Promise-returning ports without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // The hostile-input and manifest tests match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Plain CommonJS scripts run by node (no type information: tsconfig does not cover them all).
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    // The job page's script runs in the browser, as a classic script (apps/api/src/job-page/).
    files: ['apps/api/src/job-page/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
);
