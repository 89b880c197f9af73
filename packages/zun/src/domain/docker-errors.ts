/** Docker failures as Zun errors: engine unreachable → 503; Docker's own 4xx/5xx keep their meaning. */
import { AppError, badRequest, conflict, describeError, internal, notFound, unavailable } from '@kuryr-ts/openstack/errors';
import { DockerRequestError, DockerUnavailable } from '../ports/docker.js';

export function dockerFailure(step: string, err: unknown): Error {
  if (err instanceof AppError) return err;
  if (err instanceof DockerUnavailable) return unavailable(`${step}: Docker is unavailable: ${err.message}`, 'ZUN_ERR_DOCKER_UNAVAILABLE', { cause: err });
  if (err instanceof DockerRequestError) {
    const of = err.status === 404 ? notFound : err.status === 409 ? conflict : err.status === 400 ? badRequest : internal;
    return of(`${step}: Docker: ${err.message}`, 'ZUN_ERR_DOCKER', { cause: err });
  }
  return err instanceof Error ? err : new Error(`${step}: ${describeError(err)}`);
}
