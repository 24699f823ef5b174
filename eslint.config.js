// Lint with type-aware rules and zero warnings (npm run lint passes --max-warnings 0).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      // noUncheckedIndexedAccess types every indexed read as possibly undefined; inside a
      // bounds-checked loop over bytes, `x[i]!` is the exact statement of that precondition.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The protocol core does no I/O and depends on nothing else in this repository:
    // relay, station, CLI and console build on it, never the other way round.
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@backchannel/*', 'backchannel', '../../*/**'], message: 'The protocol core imports nothing else from the repository.' },
          { group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:worker_threads', 'node:dgram', 'node:tls', 'fs', 'net', 'http', 'https'], message: 'The protocol core does no I/O.' },
        ],
      }],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
