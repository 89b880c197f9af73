import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { REPO, hostId, neutron, sh, waitFor } from './support.js';

// Neutron's view of the OVN agent can lag (a fresh OVN database, a busy neutron-server): what is
// tested here is doctor's report, so wait until Neutron itself says the agent of this host is alive.
const agentAlive = (): Promise<boolean> =>
  waitFor('the OVN agent of this host alive in Neutron', async () => (await neutron.list('agents', { host: hostId() })).some((a) => a.alive), 180_000, 2_000);

describe('kuryr doctor', { timeout: 420_000 }, () => {
  it('passes on the lab host, and explains a wrong binding host id and a missing socket', async () => {
    await agentAlive();
    const good = await sh(process.execPath, [`${REPO}packages/kuryr/bin/kuryr.js`, 'doctor', '--config-file', '/etc/kuryr-lab/kuryr.conf']);
    assert.match(good, /✔ binding host id: alive: OVN Controller agent/);
    assert.doesNotMatch(good, /✘/);
    writeFileSync('/run/kuryr-lab/test-doctor.conf', '[binding]\nhost_id = nosuchhost\n[DEFAULT]\nplugin_socket = /run/docker/plugins/nosuchdriver.sock\n');
    const bad = await sh(process.execPath, [`${REPO}packages/kuryr/bin/kuryr.js`, 'doctor', '--config-file', '/etc/kuryr-lab/kuryr.conf', '--config-file', '/run/kuryr-lab/test-doctor.conf']).then(
      () => assert.fail('doctor should exit 1'),
      (err: Error) => err.message,
    );
    assert.match(bad, /✘ binding host id: Neutron has no alive agent for host "nosuchhost"/);
    assert.match(bad, /→ set \[binding\] host_id/);
    assert.match(bad, /✘ plugin socket: .*does not exist/);
  });

  it("doctor with no flags checks the running lab daemon's config", async () => {
    // lab/kuryr.sh runs `kuryr daemon --config-file /etc/kuryr-lab/kuryr.conf`; there is no /etc/kuryr/kuryr.conf
    await agentAlive();
    const labPid = readFileSync('/run/kuryr-lab/kuryr.pid', 'utf8').trim();
    const out = await sh(process.execPath, [`${REPO}packages/kuryr/bin/kuryr.js`, 'doctor']);
    assert.match(out, /✔ configuration: valid: \/etc\/kuryr-lab\/kuryr\.conf — the running daemon's: pid \d+ \(it holds \/run\/docker\/plugins\/kuryr\.sock\)/);
    assert.match(out, new RegExp(`the running daemon's: pid ${labPid} `), `the lab's daemon is pid ${labPid}`);
    assert.match(out, /✔ binding host id: alive: OVN Controller agent/);
    assert.doesNotMatch(out, /✘/);
  });
});
