/**
 * Test support for the Prometheus source: a real Prometheus (Debian's
 * `prometheus` package, /usr/bin/prometheus) started on a free loopback
 * port with a temporary configuration and TSDB, scraping every second an
 * HTTP target the test serves on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';
/** Whether this machine can run the real-Prometheus tests. */
export const prometheusAvailable = existsSync(PROMETHEUS_BINARY);

/** A loopback port nothing listens on (for a moment). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Counters of one (flag, cohort): every scrape adds `requests` requests of which `errors` failed. */
export interface CounterSeries {
  flag: string;
  cohort: 'treatment' | 'control';
  environment: string;
  requests: number;
  errors: number;
}

/**
 * The scraped application: `app_requests_total` and `app_errors_total` with
 * labels flag, cohort and environment, growing by fixed steps on every scrape
 * (so rates, and their ratio, are exact), and a gauge `app_cpu_percent`.
 */
export class ScrapeTarget {
  private server: Server | undefined;
  private readonly totals = new Map<string, { requests: number; errors: number }>();
  scrapes = 0;
  port = 0;

  constructor(
    readonly series: readonly CounterSeries[],
    readonly cpuPercent: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.scrapes++;
      const lines = ['# TYPE app_requests_total counter', '# TYPE app_errors_total counter'];
      for (const s of this.series) {
        const id = `${s.flag}/${s.cohort}/${s.environment}`;
        const t = this.totals.get(id) ?? { requests: 0, errors: 0 };
        t.requests += s.requests;
        t.errors += s.errors;
        this.totals.set(id, t);
        const labels = `flag="${s.flag}",cohort="${s.cohort}",environment="${s.environment}"`;
        lines.push(`app_requests_total{${labels}} ${t.requests}`, `app_errors_total{${labels}} ${t.errors}`);
      }
      lines.push('# TYPE app_cpu_percent gauge', `app_cpu_percent{environment="production"} ${this.cpuPercent}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`${lines.join('\n')}\n`);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** A running Prometheus; `stop` kills it and removes its files. */
export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  /** Runs an instant query (test assertions). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts Prometheus scraping `targetPort` every second; resolves when it is ready. */
export async function startPrometheus(targetPort: number): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'rollgate-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: app',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${targetPort}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killed);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}: ${output.join('')}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not get ready within 30 s: ${output.join('')}`);
    }
    await sleep(200);
  }
  return {
    url,
    stop,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await res.json()) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data?.result ?? [];
    },
  };
}

/** Waits until `check` holds, polling every 250 ms for at most `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
