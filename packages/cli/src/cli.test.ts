import { EventEmitter } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const snapshot = {
  flags: [
    {
      key: 'new-checkout',
      type: 'boolean',
      variations: [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ],
      enabled: true,
      offVariation: 'off',
      rules: [{ id: 'canada', conditions: [{ attribute: 'country', operator: 'in', values: ['CA'] }], serve: { variation: 'on' } }],
      fallthrough: { variation: 'off' },
    },
  ],
};

describe('rollgate command', () => {
  it('prints help for the command and each subcommand', async () => {
    expect((await run('--help')).out).toContain('Commands:');
    for (const cmd of ['start', 'evaluate', 'validate']) {
      const r = await run(cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: rollgate ${cmd}`);
    }
  });

  it('evaluates a flag from a snapshot file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-cli-'));
    const file = join(dir, 'snapshot.json');
    await writeFile(file, JSON.stringify(snapshot));
    const r = await run('evaluate', '--snapshot', file, '--flag', 'new-checkout', '--context', '{"country":"CA"}', '--default', 'false');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'canada' });
    const missing = await run('evaluate', '--snapshot', file, '--flag', 'nope', '--default', 'false');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ value: false, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  });

  it('validates a snapshot and lists each problem with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-cli-'));
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    await writeFile(good, JSON.stringify(snapshot));
    const broken = structuredClone(snapshot);
    broken.flags[0]!.rules[0]!.conditions[0]!.operator = 'like';
    broken.flags[0]!.fallthrough.variation = 'maybe';
    await writeFile(bad, JSON.stringify(broken));
    expect((await run('validate', good)).code).toBe(0);
    const r = await run('validate', bad);
    expect(r.code).toBe(1);
    expect(r.err).toContain('flags[0].rules[0].conditions[0].operator: must be one of');
    expect(r.err).toContain('flags[0].fallthrough.variation: unknown variation "maybe"');
    expect(r.err).toContain('2 problems');
  });

  it('answers bad usage with a message that says what to do, and exit code 2', async () => {
    const noFlag = await run('evaluate', '--snapshot', 'x.json');
    expect(noFlag.code).toBe(2);
    expect(noFlag.err).toContain('needs --snapshot <file> and --flag <key>');
    const badJson = await run('evaluate', '--snapshot', 'x.json', '--flag', 'f', '--context', '{oops');
    expect(badJson.err).toContain('--context must be JSON');
    expect((await run('evaluate', '--bogus')).code).toBe(2);
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'frobnicate'");
    expect(unknown.err).toContain('rollgate --help');
    const unreadable = await run('validate', '/nonexistent/snapshot.json');
    expect(unreadable.err).toContain('cannot read /nonexistent/snapshot.json: ENOENT');
  });

  it('starts the server, prints the URL and the first admin token once, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rollgate-start-'));
    const startOnce = async () => {
      const signals = new EventEmitter();
      const out: string[] = [];
      const done = runCli(['start', '--port', '0', '--data-dir', dataDir], { out: (l) => out.push(l), err: (l) => out.push(l) }, signals);
      while (!out.some((l) => l.startsWith('Rollgate is running at'))) await new Promise((r) => setTimeout(r, 20));
      const url = (out.find((l) => l.startsWith('Rollgate is running at')) as string).split(' ').pop() as string;
      const health = await fetch(`${url}/healthz`);
      signals.emit('SIGTERM');
      expect(await done).toBe(0);
      return { out: out.join('\n'), status: health.status };
    };
    const first = await startOnce();
    expect(first.status).toBe(200);
    expect(first.out).toMatch(/rg_admin_[A-Za-z0-9_-]{20,}/);
    expect(first.out).toContain('Rollgate stopped.');
    const second = await startOnce();
    expect(second.out).not.toMatch(/rg_admin_/);
  });

  it('refuses bad options with a clear message', async () => {
    const r = await run('start', '--port', 'eighty');
    expect(r.code).toBe(2);
    expect(r.err).toContain('ROLLGATE_PORT=eighty is not a whole number');
  });
});
