/**
 * Requests on a kuryr daemon's plugin socket as Docker sends them (a body and
 * its Content-Length, no Content-Type), and the daemon's own counters
 * (GET /kuryr/stats).
 */
import { request } from 'node:http';
import type { OpTotals } from '@kuryr-ts/openstack/lib/op-stats';
import type { MemorySplit } from '@kuryr-ts/kuryr/main/memory-split';

export interface PluginReply {
  status: number;
  body: string;
}

export interface PluginRequestOptions {
  method?: string;
  /** No answer in this time: the request fails (default: no limit). */
  timeoutMs?: number | undefined;
}

export function pluginRequest(socket: string, path: string, payload = '', opts: PluginRequestOptions = {}): Promise<PluginReply> {
  const target = `/${path.replace(/^\//, '')}`;
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: target, method: opts.method ?? 'POST', headers: { 'Content-Length': Buffer.byteLength(payload) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    const timeoutMs = opts.timeoutMs;
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${path}: no answer in ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** What a daemon serves on GET /kuryr/stats. */
export interface KuryrStats {
  /** per libnetwork method: requests, errors, Neutron calls made for them, time spent (ms) */
  operations: Record<string, OpTotals>;
  /** Neutron calls made outside any request (after a reply: endpoint records, pool refills) */
  backgroundNeutronCalls: number;
  neutronReady?: boolean;
  /** free ports per pool ([vif_pool]) */
  portPools?: Record<string, number>;
  /** port deletions still running after their reply ([DEFAULT] delete_ports_after_reply) */
  portDeletionsPending?: number;
  /** full collections run because the daemon was idle after a busy spell */
  idleCollections?: number;
  /** where the daemon's memory is (MB): resident, V8's heap reserved and in use, compiled code, outside the heap */
  memory?: MemorySplit;
}

export async function kuryrStats(socket: string, timeoutMs?: number): Promise<KuryrStats> {
  const r = await pluginRequest(socket, '/kuryr/stats', '', { method: 'GET', timeoutMs });
  return JSON.parse(r.body) as KuryrStats;
}
