/** One libnetwork method: `noArgs` methods accept an empty body (Docker sends none). */
export interface RouteSpec {
  noArgs?: boolean;
  handle(body: unknown): Promise<object>;
}

export type RouteTable = Record<string, RouteSpec>;
