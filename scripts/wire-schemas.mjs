// Writes packages/kuryr/src/protocol/libnetwork/wire-schemas.ts: the request schemas of wire.ts
// (TypeBox) as plain JSON Schema, which is what the daemon loads (TypeBox itself stays out of
// its memory). Run after changing a request in wire.ts:
//   npx tsc -b && node scripts/wire-schemas.mjs && npx tsc -b
// (the unit test plugin-protocol.test.ts fails while the two differ).
import { writeFileSync } from 'node:fs';
import { stdout } from 'node:process';
import { URL } from 'node:url';

const root = new URL('../packages/kuryr/', import.meta.url);
const { methods } = await import(new URL('dist/src/protocol/libnetwork/wire.js', root).href);
const schemas = Object.fromEntries(
  Object.entries(methods)
    .filter(([, spec]) => spec.request !== undefined)
    .map(([method, spec]) => [method, JSON.parse(JSON.stringify(spec.request))]),
);
const text = `/**
 * The request schema of every libnetwork method that takes arguments, as
 * plain JSON Schema: what the plugin server validates bodies against. The
 * declarations (and the handlers' types) are in wire.ts (TypeBox); this file
 * is generated from them by scripts/wire-schemas.mjs so that the daemon does
 * not load TypeBox at all (its type builder alone held ~3 MB of heap and
 * ~4 MB of resident memory). A unit test keeps the two equal.
 */

export const REQUEST_SCHEMAS: Readonly<Record<string, object>> = ${JSON.stringify(schemas, null, 2)};

/** The request schema of a method, if it takes arguments. */
export function requestSchema(method: string): object | undefined {
  return Object.hasOwn(REQUEST_SCHEMAS, method) ? REQUEST_SCHEMAS[method] : undefined;
}
`;
writeFileSync(new URL('src/protocol/libnetwork/wire-schemas.ts', root), text);
stdout.write(`wrote ${Object.keys(schemas).length} request schemas\n`);
