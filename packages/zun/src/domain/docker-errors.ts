/** Docker failures as Zun errors: engine unreachable → 503; Docker's own 4xx/5xx keep their meaning. */
import { ZunError, describe } from './errors.js';
import { DockerRequestError, DockerUnavailable } from '../ports/docker.js';

export function dockerFailure(step: string, err: unknown): Error {
  if (err instanceof ZunError) return err;
  if (err instanceof DockerUnavailable) return new ZunError(503, 'ZUN_ERR_DOCKER_UNAVAILABLE', `${step}: Docker is unavailable: ${err.message}`, { cause: err });
  if (err instanceof DockerRequestError) {
    const status = err.status === 404 ? 404 : err.status === 409 ? 409 : err.status === 400 ? 400 : 500;
    return new ZunError(status, 'ZUN_ERR_DOCKER', `${step}: Docker: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(`${step}: ${describe(err)}`);
}
