/** Kuryr networks made through the docker CLI on a bench daemon, remembered for the leak check at cleanup. */
import type { Lab } from './context.js';
import { docker, dockerOk } from './lab.js';
import type { ExecResult } from '../test/lab-support/exec.js';

/** `docker network create` with the bench daemon as network and IPAM driver; a failure is a value. */
export async function createDockerNet(lab: Lab, name: string, extra: string[]): Promise<ExecResult> {
  const r = await docker('network', 'create', '-d', lab.names.driver, '--ipam-driver', lab.names.driver, ...extra, name);
  if (r.ok) lab.made.dockerNetworkIds.add(r.out);
  return r;
}

/** The same on any kuryr driver, for setup: a failure throws. */
export async function createDockerNetOk(lab: Lab, driver: string, name: string, extra: string[]): Promise<string> {
  const id = await dockerOk('network', 'create', '-d', driver, '--ipam-driver', driver, ...extra, name);
  lab.made.dockerNetworkIds.add(id);
  return id;
}
