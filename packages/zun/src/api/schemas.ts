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

/** Zun fields the service accepts and ignores (resources, restart policy…), so python-zunclient's bodies validate. */
const ignored = Object.fromEntries(
  ['cpu', 'memory', 'disk', 'labels', 'restart_policy', 'interactive', 'tty', 'image_driver', 'image_pull_policy', 'auto_remove', 'runtime', 'availability_zone', 'auto_heal', 'privileged', 'healthcheck', 'mounts', 'entrypoint', 'cpu_policy', 'registry'].map(
    (k) => [k, {}],
  ),
);

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
    ...ignored,
  },
} as const;

const bool = { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['true', 'false', 'True', 'False', '1', '0', ''] }] } as const;

export const listQuery = { type: 'object', properties: { all_projects: bool } } as const;
export const hostsQuery = { type: 'object', properties: { refresh: bool } } as const;
export const createQuery = { type: 'object', properties: { run: bool } } as const;
export const deleteQuery = { type: 'object', properties: { force: bool, stop: bool, all_projects: bool } } as const;
export const stopQuery = { type: 'object', properties: { timeout: { type: 'integer', minimum: 0, maximum: 3600 } } } as const;
export const logsQuery = {
  type: 'object',
  properties: { stdout: bool, stderr: bool, tail: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', enum: ['all'] }] }, timestamps: bool, since: {} },
} as const;
export const executeQuery = { type: 'object', properties: { command: { type: 'string', minLength: 1 }, run: bool, interactive: bool } } as const;
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

export const truthy = (v: unknown): boolean => v === true || (typeof v === 'string' && ['true', 'True', '1'].includes(v));
