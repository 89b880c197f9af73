/**
 * KURYR_FAULTS_FUZZ seeded requests straight to a test daemon's plugin
 * socket (plugin-fuzz.ts says which): every method, garbage and truncated
 * JSON, wrong types, bodies over the limit, unknown ids and methods, cut-off
 * transfers, KURYR_FAULTS_FUZZ_CONCURRENCY at once; then
 * KURYR_FAULTS_FUZZ_FLOWS real call sequences in a wrong order, each
 * followed by Docker's teardown.
 *  - the daemon stays up (same process) and answers every request that is
 *    due an answer: an error is non-200 with `Err` and `Error`, an invalid
 *    request a 4xx, and no reply carries a JavaScript exception;
 *  - no Neutron object, veth or OVS port comes from the single requests;
 *  - what the wrong-order flows leave, `kuryr reconcile` removes;
 *  - RSS and open file descriptors (from /proc) go back to idle.
 */
import { send } from './fuzz-client.js';
import { ALL_METHODS, judge, requests, runFlow, type FuzzRequest, type Reply } from './plugin-fuzz.js';
import { seconds } from './docker-ops.js';
import { removedText } from './fault-daemon.js';
import { KINDS, added, countOf, inventory } from './inventory.js';
import { knobs } from './knobs.js';
import { faultScenario } from './scenario.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** RSS may stay this much above idle (V8 keeps some heap it grew); file descriptors must all be closed again. */
const RSS_SLACK_MIB = 16;
const FD_SLACK = 2;

faultScenario('fuzz', `${knobs.fuzzRequests} fuzzed requests and ${knobs.fuzzFlows} wrong-order call sequences on the plugin socket`, { timeoutMs: 900_000 }, async (ctx) => {
  const { daemon, figures, rng } = ctx;
  const pid = daemon.pid;
  const socket = daemon.socket;

  // ---- idle: after a warm-up of harmless calls, settled
  for (let i = 0; i < 200; i++) await send(socket, { cls: 'invalid', mutation: 'warm-up', method: 'Plugin.Activate', verb: 'POST', path: '/Plugin.Activate', body: '' });
  await sleep(3000);
  const idle = daemon.usage();
  const inv0 = await inventory();

  // ---- the single requests
  const hist = new Map<string, number>();
  const byClass = new Map<string, number>();
  const methods = new Set<string>();
  const violations: string[] = [];
  let peak = idle;
  const sampler = setInterval(() => {
    try {
      const u = daemon.usage();
      peak = { rssMiB: Math.max(peak.rssMiB, u.rssMiB), fds: Math.max(peak.fds, u.fds) };
    } catch {
      /* the daemon is gone: found below */
    }
  }, 250);
  const stream = requests(rng.fork('requests'), knobs.fuzzRequests);
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = stream.next();
      if (next.done) return;
      const req: FuzzRequest = next.value;
      const reply: Reply = await send(socket, req);
      byClass.set(req.cls, (byClass.get(req.cls) ?? 0) + 1);
      methods.add(req.method);
      const key = `${req.cls === 'invalid' ? req.mutation.split(':')[0] : req.cls} → ${reply.status || 'closed'}`;
      hist.set(key, (hist.get(key) ?? 0) + 1);
      const why = judge(req, reply);
      if (why) violations.push(`${req.cls}/${req.mutation} ${req.verb} ${req.path.slice(0, 60)} body ${JSON.stringify(req.body.slice(0, 80))}: ${why}`);
    }
  };
  await Promise.all(Array.from({ length: knobs.fuzzConcurrency }, worker));
  const streamMs = performance.now() - t0;
  const upAfterStream = daemon.running && daemon.pid === pid;
  await sleep(2000);
  const fromSingles = added(inv0, await inventory());

  // ---- the flows: real sequences in a wrong order, Docker's teardown after each
  const flowViolations: string[] = [];
  let flowCalls = 0;
  const t1 = performance.now();
  for (let i = 0; i < knobs.fuzzFlows; i++) {
    const f = await runFlow(rng.fork(`flow${i}`), `10.240.${i % 256}.0/24`, (method, body) =>
      send(socket, { cls: 'unknown-id', mutation: 'flow', method, verb: 'POST', path: `/${method}`, body: `${JSON.stringify(body)}\n` }),
    );
    flowCalls += f.calls.length;
    flowViolations.push(...f.violations.map((v) => `flow ${i}: ${v}`));
  }
  const flowsMs = performance.now() - t1;
  await sleep(2000);
  const afterTeardown = added(inv0, await inventory());

  // ---- after the grace period, a reconciliation removes what the wrong orders left
  await sleep((knobs.graceS + 2) * 1000);
  const rec = await daemon.reconcile();
  clearInterval(sampler);

  // ---- back to idle (RSS, file descriptors), waited for up to 30 s
  let settled = daemon.usage();
  for (let i = 0; i < 60 && (settled.fds > idle.fds + FD_SLACK || settled.rssMiB > idle.rssMiB + RSS_SLACK_MIB); i++) {
    await sleep(500);
    settled = daemon.usage();
  }

  figures.check('requests sent', [...byClass.values()].reduce((a, b) => a + b, 0), '==', knobs.fuzzRequests);
  figures.report('requests by class', [...byClass].map(([k, n]) => `${k} ${n}`).join(', '));
  figures.report('replies (request kind → status)', [...hist].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join('; '));
  figures.check('libnetwork methods covered', ALL_METHODS.filter((m) => methods.has(m)).length, '==', ALL_METHODS.length);
  figures.report('throughput', Math.round(knobs.fuzzRequests / (streamMs / 1000)), 'requests/s', `${seconds(streamMs)} s, ${knobs.fuzzConcurrency} at once`);
  figures.check('replies that break the protocol (an error without Err/Error, a 200 or 5xx for an invalid request, a JavaScript exception, no answer)', violations.length, '==', 0, undefined, violations.slice(0, 3).join(' | ') || undefined);
  figures.check('daemon up, same process, after the requests', upAfterStream ? 1 : 0, '==', 1);
  for (const k of KINDS) figures.check(`made by the single requests: ${k}`, fromSingles[k].length, '==', 0, undefined, fromSingles[k].slice(0, 3).join('; ') || undefined);
  figures.report('wrong-order flows: calls', flowCalls, undefined, `${knobs.fuzzFlows} flows, ${seconds(flowsMs)} s`);
  figures.check('wrong-order flows: replies that break the protocol', flowViolations.length, '==', 0, undefined, flowViolations.slice(0, 3).join(' | ') || undefined);
  figures.report('wrong-order flows: left after Docker\u2019s teardown, before kuryr reconcile', countOf(afterTeardown), undefined, KINDS.filter((k) => afterTeardown[k].length > 0).map((k) => `${afterTeardown[k].length} ${k}`).join(', ') || undefined);
  figures.check('kuryr reconcile exit status', rec.status, '==', 0, undefined, rec.report.skipped.join('; ') || undefined);
  figures.report('removed by kuryr reconcile', removedText(rec));
  figures.check('daemon up, same process, at the end', daemon.running && daemon.pid === pid ? 1 : 0, '==', 1);
  figures.report('RSS idle → peak → settled', `${idle.rssMiB} → ${peak.rssMiB} → ${settled.rssMiB}`, 'MiB');
  figures.check('RSS above idle once settled', Math.round((settled.rssMiB - idle.rssMiB) * 10) / 10, '<=', RSS_SLACK_MIB, 'MiB');
  figures.report('open file descriptors idle → peak → settled', `${idle.fds} → ${peak.fds} → ${settled.fds}`);
  figures.check('open file descriptors above idle once settled', settled.fds - idle.fds, '<=', FD_SLACK);

  await ctx.teardownLeaves();
});
