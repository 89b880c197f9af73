import type { Method, RequestOf, ResponseOf } from './wire.js';
import { requestSchema } from './wire-schemas.js';

/** One libnetwork method: `noArgs` methods accept an empty body (Docker sends none). */
export interface RouteSpec {
  noArgs?: boolean;
  handle(body: unknown): Promise<object>;
}

export type RouteTable = Record<string, RouteSpec>;

/** A handler per method, typed by the method's declaration in wire.ts. */
export type Handlers = { [M in Method]?: (body: RequestOf<M>) => Promise<ResponseOf<M>> };

/**
 * The route table of typed handlers. The plugin server validates each body
 * against the same method's request schema before the handler runs, which is
 * what makes the body the handler's declared type.
 */
export function routeTable(handlers: Handlers): RouteTable {
  const table: RouteTable = {};
  for (const [method, handle] of Object.entries(handlers) as Array<[Method, (body: unknown) => Promise<object>]>) {
    table[method] = requestSchema(method) ? { handle } : { noArgs: true, handle };
  }
  return table;
}
