/** The OpenAPI 3.0 description of /v1, served at GET /v1/openapi.json; request schemas are the ones fastify validates with. */
import * as s from './schemas.js';

const error = { $ref: '#/components/responses/Error' };
const ident = { name: 'ident', in: 'path', required: true, description: 'uuid or name', schema: { type: 'string' } };
const q = (name: string, schema: object, description = ''): object => ({ name, in: 'query', required: false, description, schema });
const json = (schema: object): object => ({ content: { 'application/json': { schema } } });
const op = (summary: string, responses: Record<string, unknown>, extra: object = {}): object => ({ summary, responses: { ...responses, default: error }, ...extra });

export function openApiDocument(): object {
  const networkObj = { $ref: '#/components/schemas/Network' };
  const containerObj = { $ref: '#/components/schemas/Container' };
  return {
    openapi: '3.0.3',
    info: {
      title: 'kuryr-ts container service (Zun-compatible) API',
      version: '1.40',
      description:
        'Zun URL shapes under /v1 (a trailing slash is the same resource; a path without /v1 is read under it). Send `OpenStack-API-Version: container 1.N` (1.1–1.40; `latest`; absent = 1.1; another service, malformed or outside → 406); answers carry OpenStack-API-Version, OpenStack-API-Minimum-Version and OpenStack-API-Maximum-Version. Auth: `X-Auth-Token` (Keystone) unless the service runs in noauth mode. Errors: `{errors:[{request_id, code, status, title, detail}]}` (a 4xx title is its message, as Zun).',
    },
    servers: [{ url: 'http://127.0.0.1:9517' }],
    components: {
      securitySchemes: { keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } },
      responses: {
        Error: json({ type: 'object', properties: { errors: { type: 'array', items: { type: 'object', properties: { request_id: { type: 'string' }, code: { type: 'string' }, status: { type: 'integer' }, title: { type: 'string' }, detail: { type: 'string' } } } } } }),
      },
      schemas: {
        NetworkCreate: s.networkCreateBody,
        ContainerCreate: s.containerCreateBody,
        Network: {
          type: 'object',
          properties: {
            ...Object.fromEntries(
              ['uuid', 'name', 'project_id', 'user_id', 'network_id', 'neutron_net_id', 'neutron_subnet_id', 'neutron_subnet_v6_id', 'neutron_pool_id', 'docker_network_name', 'host', 'created_at', 'updated_at'].map((k) => [k, { type: 'string', nullable: true }]),
            ),
            hosts: { $ref: '#/components/schemas/NetworkHosts' },
          },
        },
        NetworkHosts: {
          type: 'array',
          description: 'admin only: the hosts that have the network\'s Docker network (made per host, lazily)',
          items: { type: 'object', properties: { host: { type: 'string' }, network_id: { type: 'string', nullable: true } } },
        },
        Host: {
          type: 'object',
          properties: {
            hostname: { type: 'string', description: 'binding host id (OVN chassis) of the host\'s ports' },
            state: { type: 'string', enum: ['up', 'down', 'unknown'], description: 'from Docker\'s /_ping' },
            disabled: { type: 'boolean', description: 'skipped by least-loaded placement ([scheduler] disabled_hosts)' },
            total_containers: { type: 'integer' },
            docker_endpoint: { type: 'string' },
            last_checked_at: { type: 'string', nullable: true },
            reason: { type: 'string', nullable: true },
          },
        },
        Container: {
          type: 'object',
          properties: {
            ...Object.fromEntries(['uuid', 'name', 'project_id', 'user_id', 'image', 'status', 'status_reason', 'task_state', 'workdir', 'hostname', 'host', 'created_at', 'updated_at'].map((k) => [k, { type: 'string', nullable: true }])),
            command: { type: 'array', items: { type: 'string' } },
            environment: { type: 'object', additionalProperties: { type: 'string' } },
            addresses: { type: 'object', nullable: true, additionalProperties: { type: 'array', items: { type: 'object', properties: { addr: { type: 'string' }, version: { type: 'integer' }, port: { type: 'string' }, subnet_id: { type: 'string' }, preserve_on_delete: { type: 'boolean' } } } } },
            security_groups: { type: 'array', items: { type: 'string' } },
            ports: { type: 'array', items: { type: 'integer' } },
          },
        },
      },
    },
    security: [{ keystone: [] }],
    paths: {
      '/v1/networks': {
        post: op('Create a network (a kuryr Docker network wrapping a Neutron network, subnet and subnet pool)', { 200: json(networkObj) }, { requestBody: { required: true, ...json({ $ref: '#/components/schemas/NetworkCreate' }) } }),
        get: op('List the project\'s networks', { 200: json({ type: 'object', properties: { networks: { type: 'array', items: networkObj } } }) }, { parameters: [q('all_projects', { type: 'boolean' }, 'admin only')] }),
      },
      '/v1/networks/{ident}': {
        get: op('Show a network (uuid, name or Neutron net id)', { 200: json(networkObj) }, { parameters: [ident] }),
        delete: op('Delete a network and its Docker network on every host (≥1.27); 409 while containers are attached or such a host is down', { 204: { description: 'deleted' } }, { parameters: [ident] }),
      },
      '/v1/containers': {
        post: op('Create (and with run=true start) a container on the least-loaded healthy host, or the admin-requested `host` (≥1.39); built asynchronously: Creating → Created/Running or Error', { 202: json(containerObj) }, { parameters: [q('run', { type: 'boolean' })], requestBody: { required: true, ...json({ $ref: '#/components/schemas/ContainerCreate' }) } }),
        get: op('List the project\'s containers (Zun\'s filters, sorting and pagination; unknown parameters → 400)', { 200: json({ type: 'object', properties: { containers: { type: 'array', items: containerObj }, next: { type: 'string', description: 'URL of the next page, when this one is full' } } }) }, {
          parameters: [
            q('all_projects', { type: 'boolean' }, 'admin only'),
            q('limit', { type: 'integer', minimum: 1 }, 'page size (at most 1000)'),
            q('marker', { type: 'string' }, 'uuid of the last container of the previous page'),
            q('sort_key', { type: 'string' }, 'a field of the container view, or id (creation order, the default)'),
            q('sort_dir', { type: 'string', enum: ['asc', 'desc'] }),
            ...['name', 'image', 'project_id', 'user_id', 'task_state', 'status', 'memory', 'auto_remove'].map((f) => q(f, { type: 'string' }, 'exact-match filter')),
            q('host', { type: 'string' }, 'exact-match filter (admin only)'),
          ],
        }),
      },
      '/v1/containers/{ident}': {
        get: op('Show a container', { 200: json(containerObj) }, { parameters: [ident, q('all_projects', { type: 'boolean' }, 'admin only: look the uuid or name up in every project')] }),
        delete: op('Delete a container, its sandbox, ports and exposed-ports security group', { 204: { description: 'deleted' } }, {
          parameters: [ident, q('force', { type: 'boolean' }, 'admin only (≥1.7)'), q('stop', { type: 'boolean' }, '≥1.12'), q('all_projects', { type: 'boolean' }, 'admin only')],
        }),
      },
      '/v1/containers/{ident}/start': { post: op('Start', { 202: { description: 'accepted' } }, { parameters: [ident] }) },
      '/v1/containers/{ident}/stop': { post: op('Stop', { 202: { description: 'accepted' } }, { parameters: [ident, q('timeout', { type: 'integer' })] }) },
      '/v1/containers/{ident}/logs': { get: op('Logs (a JSON string)', { 200: json({ type: 'string' }) }, { parameters: [ident, q('stdout', { type: 'boolean' }), q('stderr', { type: 'boolean' }), q('tail', { type: 'integer' })] }) },
      '/v1/containers/{ident}/execute': {
        post: op('Run a command in the container (the query\'s command is split like a shell; interactive exec is not supported)', { 200: json({ type: 'object', properties: { output: { type: 'string' }, exit_code: { type: 'integer' }, exec_id: { type: 'string', nullable: true }, proxy_url: { type: 'string', nullable: true } } }) }, {
          parameters: [ident, q('command', { type: 'string' }), q('run', { type: 'boolean' }, 'true (the default) only'), q('interactive', { type: 'boolean' }, 'false (the default) only')],
        }),
      },
      '/v1/containers/{ident}/network_attach': {
        post: op('Attach a network or a port (≥1.8)', { 200: { description: 'attached' } }, { parameters: [ident, q('network', { type: 'string' }), q('port', { type: 'string' }), q('fixed_ip', { type: 'string' })] }),
      },
      '/v1/containers/{ident}/network_detach': {
        post: op('Detach a network or the network of a port (≥1.6; port ≥1.17)', { 202: { description: 'detached' } }, { parameters: [ident, q('network', { type: 'string' }), q('port', { type: 'string' })] }),
      },
      '/v1/hosts': {
        get: op('List the compute hosts with health and load (admin)', { 200: json({ type: 'object', properties: { hosts: { type: 'array', items: { $ref: '#/components/schemas/Host' } } } }) }, { parameters: [q('refresh', { type: 'boolean' }, 'ping every host now')] }),
      },
      '/v1/hosts/{hostname}': {
        get: op('Show a compute host (admin)', { 200: json({ $ref: '#/components/schemas/Host' }) }, { parameters: [{ name: 'hostname', in: 'path', required: true, schema: { type: 'string' } }, q('refresh', { type: 'boolean' }, 'ping it now')] }),
      },
      '/v1/containers/{ident}/network_list': {
        get: op('The container\'s ports (≥1.18; 1.13–1.17: one flat entry per address {net_id, subnet_id, port_id, version, ip_address})', { 200: json({ type: 'object', properties: { networks: { type: 'array', items: { type: 'object', properties: { net_id: { type: 'string' }, port_id: { type: 'string' }, fixed_ips: { type: 'array', items: { type: 'object' } } } } } } }) }, { parameters: [ident] }),
      },
    },
  };
}
