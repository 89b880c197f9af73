// Lint rules that carry the architecture: only the exec adapter may start
// processes, only adapters talk HTTP to Neutron, domain code depends only on
// its ports (arrows point inward), and the usual TS hygiene.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const EXEC = 'packages/kuryr/src/adapters/linux/exec.ts';
const CHILD_PROCESS = [
  { name: 'node:child_process', message: `Run host commands through ${EXEC}.` },
  { name: 'child_process', message: `Run host commands through ${EXEC}.` },
];
const DOMAINS = ['packages/kuryr/src/domain/**/*.ts', 'packages/zun/src/domain/**/*.ts'];
const OUTER_LAYERS = ['binding', 'adapters', 'protocol', 'api', 'main', 'db', 'cli', 'config'];
// Domain code may import itself, its ports, Node's pure modules, and the pure
// parts of @kuryr-ts/openstack (errors, lib/*, the NeutronApi types). Anything
// else is an outer layer or a vendor library (fastify, pino, undici,
// dockerode, kysely, pg, better-sqlite3, commander, yaml, …): it reaches the
// domain through an interface in src/ports/, built in src/main/.
const DOMAIN_IMPORTS = {
  paths: [
    ...CHILD_PROCESS,
    // node:net's sockets are transport; its address predicates are pure.
    { name: 'node:net', allowImportNames: ['isIP', 'isIPv4', 'isIPv6'], message: 'Sockets belong to adapters; the domain may use only isIP/isIPv4/isIPv6.' },
  ],
  patterns: [
    {
      group: OUTER_LAYERS.flatMap((layer) => [`../${layer}`, `../${layer}/**`, `../../${layer}`, `../../${layer}/**`]),
      message: 'Domain code reaches binding, adapters, protocol/api, db, cli, config and main only through an interface in src/ports/.',
    },
    {
      regex: '^@kuryr-ts/(kuryr|zun)/(?!(domain|ports)/)',
      message: 'Domain code reaches the outer layers only through an interface in src/ports/.',
    },
    {
      regex: '^(?!\\.|node:|@kuryr-ts/openstack/(errors|lib/[^/]+|neutron/types)$|@kuryr-ts/(kuryr|zun)/)',
      message: 'No vendor library in domain code: an adapter wraps it behind an interface in src/ports/ (Node built-ins: write node:…).',
    },
    {
      regex: '^node:(cluster|dgram|dns|fs|fs/promises|http|http2|https|tls|worker_threads)$',
      message: 'Domain code does no I/O of its own (files, sockets, HTTP, processes): it goes through an interface in src/ports/.',
    },
  ],
};

const DOMAIN_FETCH = 'Domain code talks to remote services through an interface in src/ports/ (NeutronApi, ZunNeutron, …).';

export default tseslint.config(
  { ignores: ['**/dist/**', 'node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: CHILD_PROCESS }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: [EXEC],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['packages/kuryr/src/protocol/**/*.ts', 'packages/kuryr/src/binding/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Talk to Neutron through the NeutronApi port.' }],
    },
  },
  {
    files: DOMAINS,
    rules: {
      'no-restricted-imports': ['error', DOMAIN_IMPORTS],
      'no-restricted-globals': ['error', { name: 'fetch', message: DOMAIN_FETCH }],
      'no-restricted-properties': ['error', { object: 'globalThis', property: 'fetch', message: DOMAIN_FETCH }],
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
