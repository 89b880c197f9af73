/**
 * ovs-vswitchd crashes under running containers: killed with SIGKILL by the
 * pid in its pid file (the userspace datapath of br-int goes with it), then
 * started again with the very command line and environment ovs-ctl gave it
 * (unless its --monitor parent restarted it first). Its configuration lives
 * in ovsdb-server, untouched, and ovn-controller installs its flows again.
 * Traffic between the containers resumes within a bound, a container started
 * afterwards gets networking, no kuryr OVS interface is left in error, and
 * `kuryr reconcile` and Docker's teardown leave nothing.
 */
import { containerIp, sh } from '../integration/support.js';
import { eachLimited, reaches, runContainer, seconds } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { liveMismatch } from './inventory.js';
import { knobs } from './knobs.js';
import { cannotBreak, VswitchdRestart } from './lab-services.js';
import { faultScenario } from './scenario.js';

const RESUME_BOUND_S = 30;
const vswitchd = new VswitchdRestart();

/** kuryr's OVS interfaces that OVS reports in error or without an OpenFlow port. */
async function brokenInterfaces(): Promise<string[]> {
  const out = JSON.parse(await sh('ovs-vsctl', ['--timeout=10', '--format=json', '--columns=name,ofport,error', 'find', 'Interface', 'external_ids:owner=kuryr'])) as {
    data: Array<[string, number | [string, unknown], string | [string, unknown]]>;
  };
  return out.data
    .filter(([, ofport, error]) => typeof ofport !== 'number' || ofport < 1 || typeof error === 'string')
    .map(([name, ofport, error]) => `${name} (ofport ${JSON.stringify(ofport)}${typeof error === 'string' ? `, error ${error}` : ''})`);
}

faultScenario(
  'ovs',
  'ovs-vswitchd killed and started again under running containers',
  { timeoutMs: 600_000, skip: cannotBreak('vswitchd'), restore: () => vswitchd.restore() },
  async (ctx) => {
    const { daemon, figures } = ctx;
    await ctx.network('net', '10.235.0.0/24');
    const net = ctx.networks[0]!;
    const names = ['a', 'b', 'c'].map((x) => `${ctx.prefix}${x}`);
    for (const c of names) {
      const r = await runContainer(c, net);
      if (!r.ok) throw new Error(`${c} did not start: ${r.out}`);
    }
    const ips = await Promise.all(names.map((c) => containerIp(c, net)));
    const before = await reaches(names[0]!, ips[1]!);

    await vswitchd.kill();
    const t0 = performance.now();
    const whileDown = await reaches(names[0]!, ips[1]!, 0);
    const startMs = await vswitchd.start();
    const resumed = await reaches(names[0]!, ips[1]!, RESUME_BOUND_S * 1000);
    const resumeS = seconds(performance.now() - t0);

    const pairs = names.flatMap((c, i) => ips.filter((_, j) => j !== i).map((ip) => [c, ip] as const));
    const deafPairs = (await eachLimited(pairs, 3, async ([c, ip]) => ((await reaches(c, ip, 10_000)) ? undefined : `${c} → ${ip}`))).filter(Boolean);
    const late = `${ctx.prefix}d`;
    const d = await runContainer(late, net);
    const lateReaches = d.ok && (await reaches(late, ips[0]!, 20_000));
    const broken = await brokenInterfaces();

    await new Promise((r) => setTimeout(r, (knobs.graceS + 2) * 1000));
    const rec = await daemon.reconcile();
    const mismatch = await liveMismatch([net], ctx.neutronNets, ctx.baseline);

    figures.check('containers reach each other before the crash', before ? 1 : 0, '==', 1);
    figures.report('a ping while ovs-vswitchd is down', whileDown ? 'answered' : 'lost (as expected: the userspace datapath is gone)');
    figures.report('ovs-vswitchd start (to answering)', seconds(startMs), 's');
    figures.check('traffic resumes (from the kill to the first ping answered)', resumed ? resumeS : 999, '<=', RESUME_BOUND_S, 's');
    figures.check('pairs of containers that do not reach each other afterwards', deafPairs.length, '==', 0, undefined, deafPairs.join(', ') || undefined);
    figures.check('a container started afterwards reaches the others', lateReaches ? 1 : 0, '==', 1, undefined, d.ok ? undefined : d.out.slice(0, 200));
    figures.check('kuryr OVS interfaces in error or without an OpenFlow port', broken.length, '==', 0, undefined, broken.join(', ') || undefined);
    figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
    figures.report('removed by kuryr reconcile', removedText(rec));
    figures.check('ports, veths or OVS ports no endpoint explains, or endpoints missing one', mismatch.length, '==', 0, undefined, mismatch.slice(0, 5).join('; ') || undefined);

    await ctx.teardownLeaves();
  },
);
