/** JSON schemas of the /v1 request bodies and query strings (fastify validates them with ajv; the OpenAPI document reuses them). */
const name = { type: 'string', minLength: 2, maxLength: 255, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$' } as const;
const ref = { type: 'string', minLength: 1, maxLength: 255 } as const;

export const networkCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'neutron_net_id'],
  properties: {
    name,
    neutron_net_id: ref,
    neutron_pool_id: ref,
    neutron_subnet_id: ref,
  },
} as const;

export const netEntry = {
  type: 'object',
  additionalProperties: false,
  properties: {
    network: ref,
    port: ref,
    'v4-fixed-ip': { type: 'string', format: 'ipv4' },
    'v6-fixed-ip': { type: 'string', format: 'ipv6' },
  },
  oneOf: [{ required: ['network'] }, { required: ['port'] }],
} as const;

const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;
/** Zun's `boolean` (body fields and execute's query): a JSON boolean or its four spellings. */
const zunBool = { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['True', 'true', 'False', 'false'] }] } as const;

/**
 * Fields of Zun's container create (schemas container_create_v140) that this
 * service accepts and ignores, with Zun's types: python-zunclient sends
 * `environment`, `labels`, `hints`, `nets`, `mounts` and `auto_remove` on
 * every create. See docs/zun.md ("What python-zunclient sends") for each one.
 */
export const IGNORED_CREATE_FIELDS = {
  cpu: nullable({ anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^[0-9]*(\\.([0-9]+))?$', minLength: 1 }] }),
  cpu_policy: { type: 'string', enum: ['dedicated', 'shared'] },
  memory: nullable({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+$' }] }),
  disk: nullable({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+$' }] }),
  labels: nullable({ type: 'object' }),
  hints: nullable({ type: 'object' }),
  auto_remove: nullable({ type: 'boolean' }),
  image_driver: nullable({ type: 'string' }),
  image_pull_policy: nullable({ type: 'string', enum: ['never', 'always', 'ifnotpresent', 'Never', 'Always', 'IfNotPresent'] }),
  restart_policy: nullable({
    type: 'object',
    additionalProperties: false,
    required: ['Name'],
    properties: { Name: { type: 'string', enum: ['no', 'always', 'on-failure', 'unless-stopped'] }, MaximumRetryCount: nullable({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]+$' }] }) },
  }),
  interactive: zunBool,
  tty: zunBool,
  runtime: nullable({ type: 'string' }),
  availability_zone: nullable({ type: 'string', minLength: 1, maxLength: 255 }),
  auto_heal: zunBool,
  healthcheck: nullable({ type: 'object' }),
  registry: { type: 'string', minLength: 2, maxLength: 255, pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$' },
} as const;

/** Zun fields this service cannot honour: accepted when empty (false), refused with 400 ZUN_ERR_UNSUPPORTED otherwise. */
export const REFUSED_CREATE_FIELDS = {
  mounts: nullable({
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: { type: { type: 'string' }, source: { type: 'string' }, destination: { type: 'string' }, size: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    },
  }),
  entrypoint: nullable({ type: 'array', items: { type: 'string' } }),
  privileged: zunBool,
} as const;

export const containerCreateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['image'],
  properties: {
    name: { anyOf: [name, { type: 'null' }] },
    image: { type: 'string', minLength: 1, maxLength: 255 },
    command: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }, { type: 'null' }] },
    environment: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
    workdir: { anyOf: [{ type: 'string', maxLength: 255 }, { type: 'null' }] },
    hostname: { anyOf: [{ type: 'string', minLength: 1, maxLength: 63 }, { type: 'null' }] },
    nets: { anyOf: [{ type: 'array', items: netEntry }, { type: 'null' }] },
    security_groups: { anyOf: [{ type: 'array', items: ref }, { type: 'null' }] },
    exposed_ports: { anyOf: [{ type: 'object' }, { type: 'null' }] },
    run: { type: 'boolean' },
    /** Requested compute host (≥1.39, admin). */
    host: { anyOf: [{ type: 'string', minLength: 1, maxLength: 255 }, { type: 'null' }] },
    ...IGNORED_CREATE_FIELDS,
    ...REFUSED_CREATE_FIELDS,
  },
} as const;

/** Zun's `boolean_extended` (query parameters such as all_projects, force, stop, run). */
const TRUE_WORDS = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'];
const FALSE_WORDS = ['False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'];

const bool = { anyOf: [{ type: 'boolean' }, { type: 'string', enum: [...TRUE_WORDS, ...FALSE_WORDS, ''] }] } as const;

export const listQuery = { type: 'object', properties: { all_projects: bool } } as const;
/** GET /v1/containers: Zun's filters, sorting and pagination (unknown parameters → 400, as Zun). */
export const containerListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    all_projects: bool,
    limit: { type: 'integer', minimum: 1 },
    marker: ref,
    sort_key: { type: 'string', minLength: 1, maxLength: 64 },
    sort_dir: { type: 'string', enum: ['asc', 'desc'] },
    name: { type: 'string' },
    image: { type: 'string' },
    project_id: { type: 'string' },
    user_id: { type: 'string' },
    host: { type: 'string' },
    task_state: { type: 'string' },
    status: { type: 'string' },
    memory: { type: 'string' },
    auto_remove: bool,
  },
} as const;
export const showQuery = { type: 'object', properties: { all_projects: bool } } as const;
export const hostsQuery = { type: 'object', properties: { refresh: bool } } as const;
export const createQuery = { type: 'object', properties: { run: bool } } as const;
export const deleteQuery = { type: 'object', properties: { force: bool, stop: bool, all_projects: bool } } as const;
export const stopQuery = { type: 'object', properties: { timeout: { type: 'integer', minimum: 0, maximum: 3600 } } } as const;
export const logsQuery = {
  type: 'object',
  properties: { stdout: bool, stderr: bool, tail: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', enum: ['all'] }] }, timestamps: bool, since: {} },
} as const;
export const executeQuery = { type: 'object', properties: { command: { type: 'string', minLength: 1 }, run: zunBool, interactive: zunBool } } as const;
export const executeBody = {
  anyOf: [{ type: 'object', properties: { command: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1 }] } } }, { type: 'null' }],
} as const;
export const attachQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { network: ref, port: ref, fixed_ip: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] } },
} as const;
export const detachQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { network: ref, port: ref },
  oneOf: [{ required: ['network'] }, { required: ['port'] }],
} as const;

export const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && TRUE_WORDS.includes(v));
