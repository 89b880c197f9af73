/**
 * The `kuryr-cni` binary of this checkout, run as a CNI runtime runs it: the
 * CNI environment, the network configuration on stdin, its stdout parsed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TAG_CNI_CONTAINER } from '@kuryr-ts/kuryr/domain/cni-naming';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { REPO, neutron } from './support.js';

export const CNI_BIN = join(REPO, 'packages/kuryr/bin/kuryr-cni.js');

export interface CniRun {
  code: number | null;
  json: Record<string, unknown> | undefined;
  stdout: string;
}

/** Runs the plugin with `env` (CNI_COMMAND, CNI_CONTAINERID, ...) and `config`; `prefix` runs it under another command (e.g. nsenter). */
export function kuryrCni(env: Record<string, string>, config: unknown, prefix: readonly string[] = []): Promise<CniRun> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...prefix, process.execPath, CNI_BIN];
    const child = spawn(cmd!, args, { env: { PATH: process.env.PATH ?? '', CNI_PATH: '/opt/cni/bin', ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, json: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined }));
    child.stdin.end(JSON.stringify(config));
  });
}

/** The Neutron ports of a CNI attachment, found by its container id tag. */
export function cniPortsOf(containerId: string): Promise<NeutronPort[]> {
  return neutron.list('ports', { tags: `${TAG_CNI_CONTAINER}${containerId}` });
}
