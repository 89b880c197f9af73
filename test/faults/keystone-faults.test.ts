/**
 * Keystone faults during container traffic, for a test daemon that reaches
 * Keystone through a relay of the test's own (keystone-relay.ts); Neutron is
 * reached directly, as the token's catalog says.
 *  1. Tokens that expire mid-run: the relay gives every token a 10 s life
 *     (as `[token] expiration = 10` would): the daemon must take a new one in
 *     time, again and again, with no docker command failing.
 *  2. Keystone not answering for KURYR_FAULTS_OUTAGE_S seconds (its uwsgi
 *     process group stopped by the pid in the lab's pid file, then
 *     continued; a watchdog continues it whatever happens), starting just
 *     after the daemon took a token of OUTAGE_TOKEN_LIFE_S seconds, so that
 *     it asks for a new one early in the outage and its [neutron] timeout
 *     runs out before Keystone is back: Docker's failures name Keystone,
 *     service comes back by itself.
 *  3. A token revoked mid-run: the next token Keystone issues the daemon is
 *     revoked (DELETE /v3/auth/tokens, as admin) before the daemon has it;
 *     Neutron refuses it (401); the daemon takes a new one and the call
 *     goes through, with no docker command failing.
 * Then `kuryr reconcile` and Docker's teardown leave nothing.
 */
import { readFileSync } from 'node:fs';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { reaches, seconds, startPair } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs, outageNote, outageThatFailsS, outageTimeoutS } from './knobs.js';
import { KeystoneRelay } from './keystone-relay.js';
import { cannotBreak, PausedService } from './lab-services.js';
import { ContainerLoad } from './load.js';
import { faultScenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const RECOVERY_BOUND_S = 20;
const TOKEN_LIFE_S = 10;
const EXPIRY_PHASE_S = 25;
/** The life of the token taken just before the outage: the daemon asks for the next one half-way through it. */
const OUTAGE_TOKEN_LIFE_S = 4;
/** The shortest outage in which a docker run surely fails: the daemon asks for a new token only half-way through the short one. */
const TIMEOUT_S = outageTimeoutS();
const OUTAGE_MIN_S = outageThatFailsS(TIMEOUT_S, OUTAGE_TOKEN_LIFE_S / 2);

const keystoneLab = (() => {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim() === 'keystone';
  } catch {
    return false;
  }
})();

/** The lab's admin (clouds.yaml lab-admin): its token, taken before Keystone is stopped, revokes the daemon's. */
let adminToken: string | undefined;
const relay = new KeystoneRelay({
  port: 19700 + (process.pid % 90),
  upstream: new URL('http://127.0.0.1:5000'),
  adminToken: async () => {
    if (!adminToken) throw new Error('no admin token');
    return adminToken;
  },
});
let paused: PausedService | undefined;

/** Neutron's answer to a request carrying `token`. */
async function neutronStatusWith(token: string): Promise<number> {
  const res = await fetch('http://127.0.0.1:9696/v2.0/networks?limit=1', { headers: { 'X-Auth-Token': token }, signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  return res.status;
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

faultScenario(
  'keystone',
  `Keystone: tokens expiring mid-run, ${knobs.outageS} s not answering, a token revoked mid-run`,
  {
    timeoutMs: 600_000,
    neutronTimeoutS: TIMEOUT_S,
    skip: !keystoneLab ? "the lab's Neutron runs without Keystone (noauth)" : cannotBreak('keystone'),
    extraConf: `auth_url = ${relay.url}`, // lands in [neutron], the last section of the test daemon's config
    prepare: async () => {
      const admin = neutronAuthFrom({ cloud: 'lab-admin' }, { env: { OS_CLIENT_CONFIG_FILE: '/etc/kuryr-lab/clouds.yaml' } }).auth;
      adminToken = (await admin.headers())['X-Auth-Token'];
      relay.lifeS = TOKEN_LIFE_S;
      await relay.start();
    },
    restore: async () => {
      paused?.resume();
      await relay.stop();
    },
  },
  async (ctx) => {
    const { daemon, figures } = ctx;
    await ctx.network('net', '10.233.0.0/24');
    const net = ctx.networks[0]!;
    const { a, ipB } = await startPair(ctx.prefix, net);
    const pid = daemon.pid;
    const load = new ContainerLoad(ctx.prefix, net);
    load.start();

    // ---- 1. tokens of 10 s
    const e0 = performance.now();
    const tokensBefore = relay.issued.length;
    await sleep(EXPIRY_PHASE_S * 1000);
    const e1 = performance.now();
    const renewals = relay.issued.length - tokensBefore;
    const expiryRuns = load.runsBetween(e0, e1);

    // ---- 2. Keystone stops answering just after the daemon took a short-lived token
    relay.lifeS = OUTAGE_TOKEN_LIFE_S;
    const n = relay.issued.length;
    await until('a fresh token', () => relay.issued.length > n, 30_000);
    const t0 = performance.now();
    paused = new PausedService('keystone', knobs.outageS + 60);
    await sleep(Math.max(0, knobs.outageS * 1000 - 8000));
    const dataPlane = await reaches(a, ipB, 4000);
    await sleep(Math.max(0, t0 + knobs.outageS * 1000 - performance.now()));
    paused.resume();
    const t1 = performance.now();
    const back = await load.firstSuccessAfter(t1, 120_000);

    // ---- 3. the next token is revoked before the daemon has it; later ones live an hour
    await sleep(1000);
    const r0 = performance.now();
    const issuedBefore = relay.issued.length;
    relay.lifeS = undefined;
    relay.revokeNext = true;
    const replaced = await until('a revoked token and its replacement', () => relay.issued.slice(issuedBefore).some((t) => t.revoked) && relay.issued.length >= issuedBefore + 2, 60_000);
    await sleep(3000);
    const r1 = performance.now();
    await load.stop();
    const revoked = relay.issued.find((t) => t.revoked);
    const after = revoked ? relay.issued[relay.issued.indexOf(revoked) + 1] : undefined;
    const neutronSays = revoked ? await neutronStatusWith(revoked.token) : 0;
    const revokeRuns = load.runsBetween(r0, r1);

    await sleep((knobs.graceS + 2) * 1000);
    const rec = await daemon.reconcile();
    const mismatch = await liveMismatch([net], ctx.neutronNets, ctx.baseline);

    const during = load.runsOverlapping(t0, t1);
    const failedDuring = during.filter((o) => !o.ok);
    const unnamed = failedDuring.filter((o) => !/Keystone/.test(o.out));
    figures.check(`tokens of ${TOKEN_LIFE_S} s: new tokens taken in ${EXPIRY_PHASE_S} s`, renewals, '>=', Math.floor(EXPIRY_PHASE_S / TOKEN_LIFE_S));
    figures.check(`tokens of ${TOKEN_LIFE_S} s: docker run that failed`, expiryRuns.filter((o) => !o.ok).length, '==', 0, undefined, `${expiryRuns.length} runs`);
    figures.report('Keystone outage (SIGSTOP to SIGCONT of the uwsgi process group)', seconds(t1 - t0), 's');
    figures.report('docker run during the outage: in flight / failed', `${during.length} / ${failedDuring.length}`);
    figures.note(load.timeline(t0, t1));
    figures.check(
      'docker run that failed during the Keystone outage',
      failedDuring.length,
      '>=',
      1,
      undefined,
      outageNote(OUTAGE_MIN_S),
    );
    figures.check('failed docker run whose error does not name Keystone', unnamed.length, '==', 0, undefined, (unnamed[0] ?? failedDuring[0])?.out.slice(0, 240));
    figures.check('running containers reach each other during the outage', dataPlane ? 1 : 0, '==', 1);
    figures.check('service back after the resume (first docker run started after it that succeeds)', back ? seconds(back.end - t1) : 999, '<=', RECOVERY_BOUND_S, 's');
    figures.check('revoked token: Keystone revoked it', revoked && relay.revokeErrors.length === 0 ? 1 : 0, '==', 1, undefined, relay.revokeErrors[0]);
    figures.check("revoked token: Neutron's answer to it", neutronSays, '==', 401);
    figures.check('revoked token: the daemon took a new one', replaced && after ? 1 : 0, '==', 1);
    figures.report('revoked token: from the revoked token to its replacement', revoked && after ? seconds(after.at - revoked.at) : '-', 's');
    figures.check('revoked token: docker run that failed', revokeRuns.filter((o) => !o.ok).length, '==', 0, undefined, `${revokeRuns.length} runs; ${revokeRuns.find((o) => !o.ok)?.out.slice(0, 200) ?? ''}`);
    figures.check('docker commands that hung (no return within the bound)', load.ops.filter((o) => o.wedged).length, '==', 0);
    figures.check('daemon restarts (the same process serves throughout)', daemon.running && daemon.pid === pid ? 0 : 1, '==', 0);
    figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
    figures.report('removed by kuryr reconcile', removedText(rec));
    figures.check('ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch.length, '==', 0, undefined, mismatch.slice(0, 5).join('; ') || undefined);

    await ctx.teardownLeaves();
  },
);
