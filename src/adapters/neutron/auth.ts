/**
 * Where Neutron is and how to authenticate to it. `noauth` (Neutron's
 * auth_strategy = noauth) sends no identity headers at all: Neutron rejects
 * X-Project-Id without Keystone.
 */
export interface NeutronAuth {
  /** Base URL of the Neutron endpoint (without /v2.0). */
  endpoint(): Promise<string>;
  /** Headers to add to every request (e.g. X-Auth-Token). */
  headers(): Promise<Record<string, string>>;
  /** Forget a cached token after a 401, so the next call re-authenticates. */
  invalidate(): void;
}

export class NoAuth implements NeutronAuth {
  constructor(readonly url: string) {}

  async endpoint(): Promise<string> {
    return this.url;
  }

  async headers(): Promise<Record<string, string>> {
    return {};
  }

  invalidate(): void {}
}
