/**
 * kill -9 of the driver during container churn. A daemon of the suite's own
 * serves one network; a peer container runs on it; workers start and remove
 * containers (KURYR_FAULTS_CHURN_OPS operations, KURYR_FAULTS_CHURN_WORKERS
 * at once) while the daemon is killed with SIGKILL at seeded moments and
 * started again after a seeded pause (Docker retries its calls meanwhile).
 * Then, once the daemon runs again and the grace period has passed,
 * `kuryr reconcile`: every container Docker reports running has its port,
 * veth and OVS port and reaches the peer; no Neutron port, veth or OVS port
 * is left that no endpoint explains; no docker command hung; and after
 * Docker's own teardown nothing of kuryr's is left.
 */
import { containerIp } from '../integration/support.js';
import { containersNamed, percentile, removeContainer, runContainer, seconds, unreachable, type OpResult } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs } from './knobs.js';
import { faultScenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

faultScenario('churn', `kill -9 of the daemon during ${knobs.churnOps} container starts and removals`, { timeoutMs: 900_000 }, async (ctx) => {
  const { daemon, figures, rng } = ctx;
  await ctx.network('net', '10.231.0.0/24');
  const net = ctx.networks[0]!;
  const peer = `${ctx.prefix}peer`;
  const started = await runContainer(peer, net);
  if (!started.ok) throw new Error(`the peer container did not start: ${started.out}`);
  const peerIp = await containerIp(peer, net);

  // ---- the churn: a seeded mix of starts and removals, some workers at once
  const existing: string[] = [];
  let seq = 0;
  let issued = 0;
  const results: Array<OpResult & { op: 'run' | 'rm' }> = [];
  // A removal takes a container whose `docker run` has returned (started or not): never one still starting.
  const pickOp = (): { op: 'run' | 'rm'; name: string } => {
    const wantRun = existing.length < 4 || (existing.length < 14 && rng.chance(0.55));
    if (wantRun) return { op: 'run', name: `${ctx.prefix}c${seq++}` };
    const [name] = existing.splice(rng.int(0, existing.length - 1), 1);
    return { op: 'rm', name: name! };
  };
  const worker = async (): Promise<void> => {
    while (issued < knobs.churnOps) {
      issued++;
      const { op, name } = pickOp();
      const r = op === 'run' ? await runContainer(name, net) : await removeContainer(name);
      if (op === 'run') existing.push(name);
      results.push({ ...r, op });
    }
  };
  let churning = true;
  const killer = async (): Promise<void> => {
    while (churning) {
      await sleep(rng.between(knobs.killGapS * 500, knobs.killGapS * 1000));
      if (!churning) break;
      await daemon.kill9();
      await sleep(rng.between(200, 3000));
      await daemon.start();
    }
  };
  const t0 = performance.now();
  const killing = killer();
  killing.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  await Promise.all(Array.from({ length: knobs.churnWorkers }, worker));
  churning = false;
  await killing;
  const churnS = seconds(performance.now() - t0);
  if (!daemon.running) await daemon.start();
  await daemon.neutronReady();

  // ---- after the last kill: the grace period, then a reconciliation
  await sleep((knobs.graceS + 2) * 1000);
  const rec = await daemon.reconcile();

  const states = await containersNamed(ctx.prefix);
  const running = [...states].filter(([, s]) => s === 'running').map(([n]) => n);
  const mismatch = await liveMismatch([net], ctx.neutronNets, ctx.baseline);
  const deaf = await unreachable(
    running.filter((n) => n !== peer),
    peerIp,
  );

  const failed = results.filter((r) => !r.ok);
  figures.check('container starts and removals', results.length, '>=', Math.min(100, knobs.churnOps));
  figures.report('of which starts / removals', `${results.filter((r) => r.op === 'run').length} / ${results.filter((r) => r.op === 'rm').length}`);
  figures.check('kill -9 of the daemon', daemon.kills, '>=', 1);
  figures.report('churn time', churnS, 's');
  figures.report('docker commands that failed (Docker reported the error)', failed.length, undefined, failed.slice(0, 3).map((r) => `${r.op}: ${r.out.slice(0, 160)}`).join(' | ') || undefined);
  figures.check('docker commands that hung (no return within the bound)', results.filter((r) => r.wedged).length, '==', 0);
  figures.check('slowest docker command', seconds(Math.max(...results.map((r) => r.ms))), '<=', knobs.commandBoundS, 's');
  figures.report('docker command p50 / p95', `${seconds(percentile(results.map((r) => r.ms), 50))} / ${seconds(percentile(results.map((r) => r.ms), 95))}`, 's');
  figures.report('daemon restart (spawn to answering), median', seconds(percentile(daemon.startMs, 50)), 's');
  figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
  figures.report('removed by kuryr reconcile', removedText(rec));
  figures.report('containers running afterwards (peer included)', running.length);
  figures.check('ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch.length, '==', 0, undefined, mismatch.slice(0, 5).join('; ') || undefined);
  figures.check('running containers that do not reach the peer', deaf.length, '==', 0, undefined, deaf.join(', ') || undefined);

  await ctx.teardownLeaves();
});
