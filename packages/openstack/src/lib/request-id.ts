/**
 * OpenStack request ids: `req-<uuid>`, one per incoming request. Services
 * pass the id on to the services they call in X-OpenStack-Request-ID, which
 * oslo.middleware (Neutron, Keystone, Zun) accepts as the global request id
 * only in exactly this form.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'X-OpenStack-Request-ID';

const FORM = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isRequestId = (value: unknown): value is string => typeof value === 'string' && FORM.test(value);

export const newRequestId = (): string => `req-${randomUUID()}`;

/** The caller's request id when it sent a well-formed one (a header value, as Node gives it), else a new one. */
export function requestIdFrom(header: string | readonly string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return isRequestId(value) ? value : newRequestId();
}
