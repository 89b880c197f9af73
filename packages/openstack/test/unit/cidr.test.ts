import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrContains, firstHost, isNetworkAddress, normalizeCidr, normalizeIp, rangesExcluding } from '../../src/lib/cidr.js';

describe('cidr', () => {
  it('normalises v4 and v6', () => {
    assert.equal(normalizeCidr('10.0.0.5/24'), '10.0.0.0/24');
    assert.equal(normalizeCidr('fd00:0:0:1::5/64'), 'fd00:0:0:1::/64');
    assert.equal(normalizeIp('FD00:0000::0001'), 'fd00::1');
    assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(isNetworkAddress('10.0.0.0/24'), true);
    assert.equal(isNetworkAddress('10.0.0.1/24'), false);
  });
  it('containment and first host', () => {
    assert.equal(cidrContains('10.0.0.0/24', '10.0.0.77'), true);
    assert.equal(cidrContains('10.0.0.0/24', '10.0.1.1'), false);
    assert.equal(cidrContains('10.0.0.0/24', 'fd00::1'), false);
    assert.equal(firstHost('10.0.0.0/24'), '10.0.0.1');
    assert.equal(firstHost('fd00:1::/64'), 'fd00:1::1');
  });
  it('allocation ranges minus holes', () => {
    assert.deepEqual(rangesExcluding('10.0.0.0/29', ['10.0.0.1', '10.0.0.4']), [
      { start: '10.0.0.2', end: '10.0.0.3' },
      { start: '10.0.0.5', end: '10.0.0.6' },
    ]);
  });
  it('rejects garbage', () => {
    assert.throws(() => normalizeCidr('10.0.0.0'), /no prefix length/);
    assert.throws(() => normalizeCidr('10.0.0.0/33'), /prefix length/);
    assert.throws(() => normalizeCidr('10.0.0/24'), /invalid IP/);
  });
});
