/**
 * Neutron stops answering for KURYR_FAULTS_OUTAGE_S seconds in the middle of
 * container traffic: neutron-server's process group is stopped (SIGSTOP by
 * the pid in the lab's pid file) and continued (SIGCONT). Its sockets stay
 * open, so requests are accepted and never answered — a hung or partitioned
 * API, the case a client can only meet with its own timeout — and what was
 * sent meanwhile is carried out when it resumes, after the client gave up
 * (the lost reply). A watchdog continues it whatever happens to the test.
 *
 * Docker's failures name Neutron; running containers keep talking; service
 * comes back by itself, same daemon process, within a bound; after the grace
 * period `kuryr reconcile` leaves no port, veth or OVS port that no endpoint
 * explains, and Docker's teardown leaves nothing.
 */
import { reaches, seconds, startPair } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs, outageNote, outageThatFailsS, outageTimeoutS } from './knobs.js';
import { cannotBreak, PausedService } from './lab-services.js';
import { ContainerLoad } from './load.js';
import { faultScenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Service is back when a docker run that started after the resume succeeds within this. */
const RECOVERY_BOUND_S = 20;
const TIMEOUT_S = outageTimeoutS();
/** The shortest outage in which a docker run surely fails. */
const OUTAGE_MIN_S = outageThatFailsS(TIMEOUT_S);

let paused: PausedService | undefined;

faultScenario(
  'neutron',
  `Neutron not answering for ${knobs.outageS} s during container traffic`,
  { timeoutMs: 600_000, skip: cannotBreak('neutron'), neutronTimeoutS: TIMEOUT_S, restore: async () => paused?.resume() },
  async (ctx) => {
    const { daemon, figures } = ctx;
    await ctx.network('net', '10.232.0.0/24');
    const net = ctx.networks[0]!;
    const { a, ipB } = await startPair(ctx.prefix, net);
    const pid = daemon.pid;

    const load = new ContainerLoad(ctx.prefix, net);
    load.start();
    await sleep(3000);
    const t0 = performance.now();
    paused = new PausedService('neutron', knobs.outageS + 60);
    await sleep(Math.max(0, knobs.outageS * 1000 - 8000));
    const dataPlane = await reaches(a, ipB, 4000);
    await sleep(Math.max(0, t0 + knobs.outageS * 1000 - performance.now()));
    paused.resume();
    const t1 = performance.now();
    const back = await load.firstSuccessAfter(t1, 120_000);
    await sleep(2000);
    await load.stop();

    await sleep((knobs.graceS + 2) * 1000);
    const rec = await daemon.reconcile();
    const mismatch = await liveMismatch([net], ctx.neutronNets, ctx.baseline);

    const during = load.runsOverlapping(t0, t1);
    const failed = load.ops.filter((o) => !o.ok && o.op === 'run');
    const unnamed = failed.filter((o) => !/Neutron/.test(o.out));
    figures.report('outage (SIGSTOP to SIGCONT of the neutron-server process group)', seconds(t1 - t0), 's');
    figures.report('docker run during the outage: in flight / failed', `${during.length} / ${during.filter((o) => !o.ok).length}`);
    figures.note(load.timeline(t0, t1));
    figures.check(
      'docker run that failed during the outage',
      during.filter((o) => !o.ok).length,
      '>=',
      1,
      undefined,
      outageNote(OUTAGE_MIN_S),
    );
    figures.check('failed docker run whose error does not name Neutron', unnamed.length, '==', 0, undefined, (unnamed[0] ?? failed[0])?.out.slice(0, 240));
    figures.check('docker commands that hung (no return within the bound)', load.ops.filter((o) => o.wedged).length, '==', 0);
    figures.report('longest docker run during the outage', seconds(Math.max(0, ...during.map((o) => o.end - o.start))), 's');
    figures.check('running containers reach each other during the outage', dataPlane ? 1 : 0, '==', 1);
    figures.check(
      'service back after the resume (first docker run started after it that succeeds)',
      back ? seconds(back.end - t1) : 999,
      '<=',
      RECOVERY_BOUND_S,
      's',
      back ? undefined : 'no docker run succeeded after the resume',
    );
    figures.check('daemon restarts (the same process serves before and after)', daemon.running && daemon.pid === pid ? 0 : 1, '==', 0);
    figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
    figures.report('removed by kuryr reconcile (lost replies, releases that failed)', removedText(rec));
    figures.check('ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch.length, '==', 0, undefined, mismatch.slice(0, 5).join('; ') || undefined);

    await ctx.teardownLeaves();
  },
);
