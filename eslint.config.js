// Lint rules that carry the architecture: only the exec adapter may start
// processes, only adapters talk HTTP to Neutron, and the usual TS hygiene.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const EXEC = 'packages/kuryr/src/adapters/linux/exec.ts';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:child_process', message: `Run host commands through ${EXEC}.` },
            { name: 'child_process', message: `Run host commands through ${EXEC}.` },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: [EXEC],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['packages/kuryr/src/domain/**/*.ts', 'packages/kuryr/src/protocol/**/*.ts', 'packages/kuryr/src/binding/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Domain code talks to Neutron through the NeutronApi port.' }],
    },
  },
  {
    files: ['packages/*/bin/**/*.js', 'scripts/**/*.js', 'bench/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
