/**
 * A DockerApi that tells an observer of every call to the engine it wraps —
 * which host, which operation (the DockerApi method), how it ended (`ok`,
 * Docker's HTTP status when it refused, `unavailable` when it did not
 * answer) and how long it took — and otherwise is that engine. The metrics of
 * the Docker hosts (main/observability.ts) without touching the adapter.
 */
import { DockerRequestError, DockerUnavailable, type DockerApi } from '../ports/docker.js';

export interface DockerCall {
  host: string;
  operation: string;
  status: string;
  seconds: number;
}

export type DockerCallObserver = (call: DockerCall) => void;

export function dockerCallStatus(err: unknown): string {
  if (err instanceof DockerRequestError) return String(err.status);
  if (err instanceof DockerUnavailable) return 'unavailable';
  return 'error';
}

export function observedDocker(docker: DockerApi, host: string, observe: DockerCallObserver): DockerApi {
  const wrapped = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(docker, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...args: unknown[]) => Promise<unknown>;
        fn = async (...args: unknown[]) => {
          const started = performance.now();
          let status = 'ok';
          try {
            return await method.apply(target, args);
          } catch (err) {
            status = dockerCallStatus(err);
            throw err;
          } finally {
            observe({ host, operation: prop, status, seconds: (performance.now() - started) / 1000 });
          }
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
