/**
 * The frame every fault scenario runs in: an inventory of kuryr's objects
 * before, a fault daemon of its own (driver `<prefix><key>`), Docker networks
 * on it, and at the end Docker's own teardown (containers, networks) after
 * which the inventory must be what it was: every kind of object left over
 * is a figure with target 0. Whatever happens, `after` removes what the
 * scenario made, stops its daemon and writes the figures.
 */
import { after, describe, it } from 'node:test';
import { RUN_PREFIX, docker, networkId, neutron } from '../integration/support.js';
import { removeAll } from './docker-ops.js';
import { FaultDaemon, type FaultDaemonOptions } from './fault-daemon.js';
import { Figures } from './figures.js';
import { KINDS, added, inventory, type Inventory } from './inventory.js';
import { knobs } from './knobs.js';
import { Rng } from './rng.js';

export interface ScenarioContext {
  key: string;
  figures: Figures;
  daemon: FaultDaemon;
  rng: Rng;
  /** container names start with it */
  prefix: string;
  baseline: Inventory;
  /** Docker networks made by `network()` */
  networks: string[];
  /** their Neutron networks */
  neutronNets: string[];
  /** `docker network create -d <daemon> --ipam-driver <daemon> --subnet <cidr24> --gateway <.1>`; returns its Neutron network id */
  network(suffix: string, cidr24: string): Promise<string>;
  /** Docker's teardown, then the inventory against the baseline: a figure per kind (target 0) */
  teardownLeaves(): Promise<void>;
}

export interface ScenarioOptions extends FaultDaemonOptions {
  timeoutMs: number;
  skip?: string | false;
  /** run before the daemon starts (e.g. a relay its config points to) */
  prepare?: () => Promise<void>;
  /** run after the scenario whatever happened (e.g. resume a stopped service) */
  restore?: () => Promise<void>;
}

/** Leaves the lab as the scenario found it: containers, networks, daemon. */
async function cleanup(ctx: ScenarioContext): Promise<void> {
  await removeAll(ctx.prefix).catch(() => undefined);
  for (const n of ctx.networks) await docker('network', 'rm', n).catch(() => undefined);
  await ctx.daemon.stop().catch(() => undefined);
}

export function faultScenario(key: string, title: string, opts: ScenarioOptions, body: (ctx: ScenarioContext) => Promise<void>): void {
  const name = `${RUN_PREFIX}${key}`;
  const figures = new Figures(key, title);
  const ctx: ScenarioContext = {
    key,
    figures,
    daemon: new FaultDaemon(name, opts),
    rng: new Rng(`${knobs.seed}/${key}`),
    prefix: `${name}-`,
    baseline: undefined as unknown as Inventory,
    networks: [],
    neutronNets: [],
    async network(suffix, cidr24) {
      const net = `${name}-${suffix}`;
      const base = cidr24.replace(/\.0\/24$/, '');
      ctx.networks.push(net);
      await docker('network', 'create', '-d', name, '--ipam-driver', name, '--subnet', cidr24, '--gateway', `${base}.1`, net);
      const [n] = await neutron.list('networks', { name: `kuryr-net-${(await networkId(net)).slice(0, 8)}` });
      if (!n) throw new Error(`no Neutron network for Docker network ${net}`);
      ctx.neutronNets.push(n.id);
      return n.id;
    },
    async teardownLeaves() {
      await removeAll(ctx.prefix);
      for (const n of ctx.networks.splice(0)) await docker('network', 'rm', n);
      // CreateEndpoint records the endpoint on its port just after its reply: let such writes land.
      await new Promise((r) => setTimeout(r, 2000));
      const leaks = added(ctx.baseline, await inventory());
      for (const k of KINDS) figures.check(`left after teardown: ${k}`, leaks[k].length, '==', 0, undefined, leaks[k].slice(0, 5).join('; ') || undefined);
    },
  };

  describe(title, { timeout: opts.timeoutMs, skip: opts.skip ?? false }, () => {
    after(async () => {
      if (opts.restore) await opts.restore().catch((err: unknown) => figures.note(`restoring the lab failed: ${String(err)}`));
      await cleanup(ctx);
      figures.save();
    });

    it(title, async () => {
      try {
        ctx.baseline = await inventory();
        await opts.prepare?.();
        await ctx.daemon.start();
        await ctx.daemon.neutronReady();
        await body(ctx);
        figures.finished();
      } catch (err) {
        figures.failed(err);
        throw err;
      }
      figures.assertMet();
    });
  });
}
