/**
 * Neutron's readiness: the check of its API extensions, retried in the
 * background with capped exponential backoff until it succeeds (Kuryr died,
 * or gave up for good, when started before Neutron or Keystone: K19/K15).
 * Every failure is retried, whatever it is: an unreachable or failing
 * Neutron or Keystone, credentials Keystone refuses (the user may not exist
 * yet in a fresh cloud, or an operator fixes its role), a catalog without
 * Neutron, a Neutron that has not loaded an extension yet. Meanwhile the
 * driver calls that need Neutron wait a short bounded time, then fail with a
 * coded error saying since when and why; the first success makes them work,
 * with no restart.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { KeystoneError } from '@kuryr-ts/openstack/keystone/keystone-auth';
import { AppError, NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import type { NeutronApi } from '@kuryr-ts/openstack/neutron/types';
import type { Logger } from '../domain/settings.js';
import type { NeutronFeatures, NeutronReadiness } from './compose.js';

/** One look at Neutron's extensions: what the driver needs, and how it tags. */
export async function probeNeutronOnce(neutron: NeutronApi): Promise<NeutronFeatures> {
  if (!(await neutron.hasExtension('subnet_allocation'))) {
    throw new AppError('KURYR_ERR_NEUTRON_EXTENSION', 'unavailable', 'Neutron lacks the mandatory subnet_allocation extension');
  }
  const tags = (await neutron.hasExtension('standard-attr-tag')) || ((await neutron.hasExtension('tag')) && (await neutron.hasExtension('tag-ext')));
  // Neutron 2024.2+ takes tags in the POST body of any tagged resource: one call instead of two.
  const tagOnCreate = tags && (await neutron.hasExtension('tag-creation'));
  return { tags, tagOnCreate };
}

export interface NeutronProbeOptions {
  /** Longest pause between two attempts (ms); pauses double from 1 s up to it. Default 30 s. */
  maxIntervalMs?: number | undefined;
  /** Give up after this long without success (ms): onGiveUp is told. 0 or unset: never. */
  giveUpAfterMs?: number | undefined;
  /** Called once when giveUpAfterMs has passed (the daemon then exits, for its supervisor to restart it). */
  onGiveUp?: ((err: AppError) => void) | undefined;
  /** How long a driver call waits for Neutron before it fails (ms). Default 10 s. */
  requestWaitMs?: number | undefined;
  /** While calls wait, attempts are this far apart at least (ms). Default 1 s. */
  minGapMs?: number | undefined;
  /** The pause between attempts; resolves (or rejects) early when the signal aborts. Injectable for tests. */
  sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** Clock (tests). */
  now?: (() => number) | undefined;
}

/** What the probe knows while Neutron is not usable yet (for errors and GET /kuryr/stats). */
export interface ProbeStatus {
  ready: boolean;
  /** Since when the daemon has been waiting for Neutron (ISO 8601). */
  since?: string;
  attempts?: number;
  lastError?: string;
  /** When the next attempt starts (ISO 8601), if one is scheduled. */
  nextAttempt?: string;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> => sleepFor(ms, undefined, { signal });

/** What is wrong, named by the service at fault: a code and a sentence that says since when. */
function outage(since: number, lastError: unknown): { code: string; text: string; hint?: string } {
  const when = new Date(since).toISOString();
  if (lastError === undefined) return { code: 'KURYR_ERR_NEUTRON_UNREACHABLE', text: `Neutron not reachable since ${when} (no answer yet)` };
  const last = `(last error: ${describeError(lastError)})`;
  if (lastError instanceof KeystoneError) {
    if (lastError.status === 401) {
      return {
        code: 'KURYR_ERR_KEYSTONE_CREDENTIALS',
        text: `Keystone refuses kuryr's credentials since ${when} ${last}`,
        hint: 'fix the [neutron] credentials of kuryr.conf and restart the daemon, or the user, its role or project in Keystone (taken at the next attempt)',
      };
    }
    if (lastError.code === 'KURYR_ERR_KEYSTONE_UNREACHABLE') return { code: lastError.code, text: `Keystone not reachable since ${when} ${last}` };
    if (lastError.status !== undefined && lastError.status >= 500) return { code: 'KURYR_ERR_KEYSTONE_UNREACHABLE', text: `Keystone not available since ${when} ${last}` };
  } else if (lastError instanceof NeutronError) {
    if (lastError.status === undefined) return { code: 'KURYR_ERR_NEUTRON_UNREACHABLE', text: `Neutron not reachable since ${when} ${last}` };
    if (lastError.status >= 500) return { code: 'KURYR_ERR_NEUTRON_UNREACHABLE', text: `Neutron not available since ${when} ${last}` };
  }
  return { code: 'KURYR_ERR_NEUTRON_NOT_READY', text: `Neutron not usable since ${when} ${last}` };
}

/** The error a driver call gets while Neutron is not usable yet (503): since when, the last error, and that the daemon retries. */
export function notReadyError(since: number, attempts: number, lastError: unknown): AppError {
  const o = outage(since, lastError);
  const tail = attempts > 0 ? `; retrying (${attempts} attempt${attempts === 1 ? '' : 's'} so far)` : '; retrying';
  return new AppError(o.code, 'unavailable', `${o.text}${tail}${o.hint ? `; ${o.hint}` : ''}`);
}

/**
 * The background probe. start() begins it (idempotent); `ready` resolves with
 * the features the first time Neutron answers; usable() is the gate of the
 * driver calls; stop() ends it (shutdown).
 */
export class NeutronProbe implements NeutronReadiness {
  readonly ready: Promise<NeutronFeatures>;
  readonly #neutron: NeutronApi;
  readonly #log: Logger;
  readonly #maxIntervalMs: number;
  readonly #giveUpAfterMs: number;
  readonly #onGiveUp: ((err: AppError) => void) | undefined;
  readonly #requestWaitMs: number;
  readonly #minGapMs: number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #now: () => number;
  readonly #stop = new AbortController();
  #resolve!: (f: NeutronFeatures) => void;
  #features: NeutronFeatures | undefined;
  #started = false;
  #gaveUp: AppError | undefined;
  #since = 0;
  /** Failed attempts so far. */
  #attempts = 0;
  #lastError: unknown;
  #lastAttemptAt = 0;
  #nextAttemptAt: number | undefined;
  /** Driver calls waiting for Neutron right now: attempts come every minGapMs while there are any. */
  #waiting = 0;
  /** Ends the current pause early (a driver call arrived). */
  #wake: (() => void) | undefined;

  constructor(neutron: NeutronApi, log: Logger, opts: NeutronProbeOptions = {}) {
    this.#neutron = neutron;
    this.#log = log;
    this.#maxIntervalMs = Math.max(1000, opts.maxIntervalMs ?? 30_000);
    this.#giveUpAfterMs = opts.giveUpAfterMs ?? 0;
    this.#onGiveUp = opts.onGiveUp;
    this.#requestWaitMs = opts.requestWaitMs ?? 10_000;
    this.#minGapMs = opts.minGapMs ?? 1000;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#now = opts.now ?? Date.now;
    this.ready = new Promise((resolve) => (this.#resolve = resolve));
  }

  get isReady(): boolean {
    return this.#features !== undefined;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#since = this.#now();
    void this.#loop();
  }

  stop(): void {
    this.#stop.abort();
  }

  status(): ProbeStatus {
    if (this.#features) return { ready: true };
    return {
      ready: false,
      ...(this.#started ? { since: new Date(this.#since).toISOString(), attempts: this.#attempts } : {}),
      ...(this.#lastError !== undefined ? { lastError: describeError(this.#lastError) } : {}),
      ...(this.#nextAttemptAt !== undefined ? { nextAttempt: new Date(this.#nextAttemptAt).toISOString() } : {}),
    };
  }

  /** The gate of the driver calls: at once when ready; else waits up to requestWaitMs (probing every minGapMs), then a coded error. */
  async usable(): Promise<void> {
    if (this.#features) return;
    if (this.#gaveUp) throw this.#gaveUp;
    this.start();
    this.#waiting++;
    this.#kick();
    const timer = new AbortController();
    try {
      const waited = await Promise.race([
        this.ready.then(() => true),
        sleepFor(this.#requestWaitMs, false, { signal: AbortSignal.any([timer.signal, this.#stop.signal]) }).catch(() => false),
      ]);
      if (!waited) throw this.#gaveUp ?? notReadyError(this.#since, this.#attempts, this.#lastError);
    } finally {
      timer.abort();
      this.#waiting--;
    }
  }

  #kick(): void {
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    for (let attempt = 1; !this.#stop.signal.aborted; attempt++) {
      this.#lastAttemptAt = this.#now();
      this.#nextAttemptAt = undefined;
      try {
        const features = await probeNeutronOnce(this.#neutron);
        this.#succeed(features, attempt);
        return;
      } catch (err) {
        this.#lastError = err;
        this.#attempts = attempt;
      }
      if (this.#stop.signal.aborted) return;
      const err = this.#lastError;
      if (this.#giveUpAfterMs > 0 && this.#now() - this.#since >= this.#giveUpAfterMs) {
        const o = outage(this.#since, err);
        const text = `${o.text}; gave up after ${attempt} attempts ([neutron] probe_deadline = ${Math.round(this.#giveUpAfterMs / 1000)})`;
        this.#gaveUp = new AppError(o.code, 'unavailable', o.hint ? `${text}; ${o.hint}` : text);
        this.#log.error({ attempts: attempt, err: describeError(err) }, this.#gaveUp.message);
        this.#onGiveUp?.(this.#gaveUp);
        return;
      }
      const backoff = Math.min(this.#maxIntervalMs, 1000 * 2 ** Math.min(attempt - 1, 30));
      const wait = this.#waiting > 0 ? Math.min(backoff, this.#minGapMs) : backoff;
      const outageNow = notReadyError(this.#since, attempt, err);
      const fields = { attempt, code: outageNow.code, retryInMs: wait };
      // Neutron or Keystone not up yet is expected at boot (a warning); anything else needs an operator (an error).
      if (outageNow.code.endsWith('_UNREACHABLE')) this.#log.warn(fields, outageNow.message);
      else this.#log.error(fields, outageNow.message);
      await this.#pause(wait);
    }
  }

  #succeed(features: NeutronFeatures, attempt: number): void {
    this.#features = features;
    this.#lastError = undefined;
    const after = attempt > 1 ? { attempts: attempt, waitedMs: this.#now() - this.#since } : {};
    if (features.tags) this.#log.info({ tagOnCreate: features.tagOnCreate, ...after }, 'Neutron ready: subnet_allocation and tag extensions present');
    else this.#log.warn(after, "Neutron ready, without the tag extension: Kuryr's name-based fallback (networks named by the Docker id, ports <endpoint>-port; no adoption of existing resources)");
    this.#resolve(features);
  }

  /** Sleeps `ms`; a driver call arriving meanwhile ends the pause, though not sooner than minGapMs after the last attempt began. */
  async #pause(ms: number): Promise<void> {
    this.#nextAttemptAt = this.#now() + ms;
    const woken = new AbortController();
    this.#wake = () => woken.abort();
    try {
      await this.#sleep(ms, AbortSignal.any([woken.signal, this.#stop.signal])).catch(() => undefined);
    } finally {
      this.#wake = undefined;
    }
    if (!woken.signal.aborted || this.#stop.signal.aborted) return;
    const gap = this.#minGapMs - (this.#now() - this.#lastAttemptAt);
    if (gap > 0) await this.#sleep(gap, this.#stop.signal).catch(() => undefined);
  }
}
