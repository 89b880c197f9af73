/**
 * Arrows only inward, checked by the repository's own lint config: domain
 * code (driver and container service) that imports an outer layer or a
 * vendor library, or calls fetch, fails `npm run lint`.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url)); // from packages/kuryr/dist/test/unit/

const WRONG = `import type { BinderRegistry } from '../binding/registry.js';
import { pino } from 'pino';

export async function leak(binders: BinderRegistry): Promise<unknown> {
  pino().info(binders.portDriver);
  return (await fetch('http://127.0.0.1:9696/v2.0/ports')).json();
}
`;

const ALLOWED = `import { isIP } from 'node:net';
import { NotFoundError } from '@kuryr-ts/openstack/errors';
import type { BindingDrivers } from '../ports/binder.js';
import { idTags } from './naming.js';

export async function unplug(binders: BindingDrivers, endpointId: string, ip: string): Promise<string[]> {
  if (!isIP(ip)) throw new NotFoundError(\`no address \${ip}\`);
  await binders.removeLeftovers(endpointId);
  return idTags(endpointId);
}
`;

describe('architecture (lint): domain code depends only on its ports', () => {
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: REPO });
  });

  const problems = async (code: string, filePath: string): Promise<Array<[string | null, number]>> => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.map((m) => [m.ruleId, m.line]);
  };

  it('a domain import of a binder or a vendor library, and a fetch call, are lint errors', async () => {
    for (const domain of ['packages/kuryr/src/domain', 'packages/zun/src/domain']) {
      assert.deepEqual(
        await problems(WRONG, `${domain}/x.ts`),
        [
          ['no-restricted-imports', 1],
          ['no-restricted-imports', 2],
          ['no-restricted-globals', 6],
        ],
        domain,
      );
    }
  });

  it('an outer layer, the HTTP client and vendor libraries stay out of the domain however they are named', async () => {
    const file = 'packages/kuryr/src/domain/x.ts';
    for (const source of [
      '../adapters/linux/exec.js',
      '../protocol/plugin-server.js',
      '../main/compose.js',
      '../config/kuryr-config.js',
      '@kuryr-ts/kuryr/binding/registry',
      '@kuryr-ts/openstack/neutron/client',
      'fastify',
      'undici',
      'node:child_process',
      'node:http',
    ]) {
      assert.deepEqual(await problems(`export * from '${source}';\n`, file), [['no-restricted-imports', 1]], source);
    }
    assert.deepEqual(await problems(`import { createConnection } from 'node:net';\nexport const c = createConnection;\n`, file), [['no-restricted-imports', 1]]);
    assert.deepEqual(await problems(`export const f = () => globalThis.fetch('http://127.0.0.1/');\n`, file), [['no-restricted-properties', 1]]);
  });

  it('ports, the domain itself, errors and Node address checks are allowed', async () => {
    assert.deepEqual(await problems(ALLOWED, 'packages/kuryr/src/domain/x.ts'), []);
  });

  it('the rules hold for the domain only: the composition root may import anything', async () => {
    assert.deepEqual(await problems(WRONG, 'packages/kuryr/src/main/x.ts'), []);
  });
});
