/**
 * The demo's simulated users: requests to a web shop, each evaluating both
 * flags through the real Node SDK and reporting whether it failed and how
 * long it took through `track()`. Traffic follows the time of day on the
 * server's (accelerated) clock; the regression is injected into one flag's
 * treatment.
 */
import type { RollgateClient } from '@rollgate/sdk';
import { DEMO_BASE_ERROR_RATE, HEALTHY_FLAG, REGRESSION_FLAG, USERS, isPilot, userId } from './demo-scenario.js';

export type Regression = 'errors' | 'latency' | 'none';

/** A small seeded generator (mulberry32): the same seed gives the same users and requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Share of the peak traffic at a time of day: 100% at 14:00, 30% at 02:00. */
export function diurnalFactor(at: Date): number {
  const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
  return 0.65 + 0.35 * Math.cos((2 * Math.PI * (hour - 14)) / 24);
}

export interface SimulatorOptions {
  client: RollgateClient;
  /** Requests per real second at the daily peak. */
  traffic: number;
  seed: number;
  regression: Regression;
  /** The server clock's time now. */
  now: () => Date;
  /** Base error rate (0..1) and median latency (ms) of a request. */
  baseErrorRate?: number;
  medianLatencyMs?: number;
}

export interface SimulatorStats {
  requests: number;
  errors: number;
  /** Requests per real second over the last tick. */
  rate: number;
}

const TICK_MS = 50;

export class TrafficSimulator {
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;
  private carry = 0;
  readonly stats: SimulatorStats = { requests: 0, errors: 0, rate: 0 };

  constructor(private readonly options: SimulatorOptions) {
    this.random = seededRandom(options.seed);
  }

  start(): void {
    if (this.timer !== undefined) return;
    // Requests follow real elapsed time, so a late timer (a busy event loop) sends more, not fewer.
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.tick(Math.min(now - last, 1000));
      last = now;
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Sends the requests of `ms` real milliseconds. */
  tick(ms: number): void {
    const wanted = (this.options.traffic * diurnalFactor(this.options.now()) * ms) / 1000 + this.carry;
    const count = Math.floor(wanted);
    this.carry = wanted - count;
    for (let i = 0; i < count; i++) this.request();
    this.stats.rate = ms > 0 ? (count * 1000) / ms : 0;
  }

  /** Staff use the shop three times as much as anyone else (they dogfood it). */
  private pickUser(): number {
    const staffWeight = USERS.staff * 3;
    const r = this.random() * (staffWeight + USERS.total - USERS.staff);
    return r < staffWeight ? Math.floor(r / 3) : USERS.staff + Math.floor(r - staffWeight);
  }

  private gaussian(): number {
    const u = Math.max(this.random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  private request(): void {
    const o = this.options;
    const index = this.pickUser();
    const context = { userId: userId(index), plan: isPilot(index) ? 'pilot' : 'standard' };
    // Each request goes through both features: the checkout and the search.
    const newCheckout = o.client.isEnabled(HEALTHY_FLAG, context);
    const newRanking = o.client.isEnabled(REGRESSION_FLAG, context);
    const base = o.baseErrorRate ?? DEMO_BASE_ERROR_RATE;
    let errorRate = base;
    let latency = (o.medianLatencyMs ?? 250) * Math.exp(0.35 * this.gaussian());
    // The new checkout is a little faster; the new ranking carries the regression.
    if (newCheckout) latency *= 0.95;
    if (newRanking && o.regression === 'errors') errorRate = base * 2;
    if (newRanking && o.regression === 'latency') latency *= 1.8;
    const failed = this.random() < errorRate;
    o.client.track('error-rate', failed ? 1 : 0, context);
    o.client.track('response-time-p95', Math.round(latency), context);
    this.stats.requests++;
    if (failed) this.stats.errors++;
  }
}
