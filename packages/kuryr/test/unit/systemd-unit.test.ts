/**
 * The systemd unit keeps the boot order Docker needs: kuryr-ts started by
 * whatever starts Docker, and Docker held back until the plugin socket exists
 * (containers with a restart policy look the driver up at Docker's start).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

function unitFile(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'packaging/systemd/kuryr-ts.service');
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    if (dirname(dir) === dir) throw new Error('packaging/systemd/kuryr-ts.service not found above the test');
  }
}

describe('packaging/systemd/kuryr-ts.service', () => {
  const unit = unitFile();
  const values = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].flatMap((m) => m[1]!.trim().split(/\s+/));

  it('starts before Docker, wanted by Docker (not required: Docker runs without it)', () => {
    assert.ok(values('Before').includes('docker.service'));
    assert.ok(values('WantedBy').includes('docker.service'));
    assert.ok(values('WantedBy').includes('multi-user.target'));
    assert.ok(!values('Requires').includes('docker.service') && !values('BindsTo').includes('docker.service'));
    assert.ok(!values('After').includes('docker.service'));
  });

  it('Docker waits until the socket exists; a stale one is removed first; restarts never stop', () => {
    const post = /^ExecStartPost=.*-S \/run\/docker\/plugins\/kuryr\.sock.*$/m.exec(unit)?.[0] ?? '';
    assert.ok(post, 'ExecStartPost waits for the socket');
    assert.ok(!/[^$]\$[a-z(]/.test(post.replace(/\$\$/g, '')), 'shell $ are written $$ (systemd expands a single $)');
    assert.match(unit, /^ExecStartPre=\/bin\/rm -f \/run\/docker\/plugins\/kuryr\.sock$/m);
    assert.match(unit, /^StartLimitIntervalSec=0$/m);
  });
});
