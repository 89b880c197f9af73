/**
 * Where Neutron is and how to authenticate to it. `noauth` (Neutron's
 * auth_strategy = noauth) sends no identity headers at all: Neutron rejects
 * X-Project-Id without Keystone. Keystone v3 lives in keystone-auth.ts; which
 * one the daemon uses is decided in auth-sources.ts.
 */

import { httpFetch, type FetchLike } from '../lib/http-fetch.js';

export type { FetchLike };

export interface NeutronAuth {
  /** Base URL of the Neutron endpoint (without /v2.0). */
  endpoint(): Promise<string>;
  /** Headers to add to every request (e.g. X-Auth-Token). */
  headers(): Promise<Record<string, string>>;
  /** Forget a cached token after a 401, so the next call re-authenticates. */
  invalidate(): void;
  /**
   * The transport of Neutron requests (lib/http-fetch.ts: node:http with
   * keep-alive, and the TLS settings of a CA file, client certificate or
   * `insecure`). Undefined: the Neutron client makes its own.
   */
  readonly fetch?: FetchLike | undefined;
  /**
   * Resolves when the identity service answers (no token asked for); rejects, naming it, when it
   * does not. Asked only after Neutron did not answer: Neutron waits for Keystone to validate tokens.
   */
  reachable?(timeoutMs?: number): Promise<void>;
}

export class NoAuth implements NeutronAuth {
  constructor(
    readonly url: string,
    readonly fetch: FetchLike = httpFetch(),
  ) {}

  async endpoint(): Promise<string> {
    return this.url;
  }

  async headers(): Promise<Record<string, string>> {
    return {};
  }

  invalidate(): void {}
}
