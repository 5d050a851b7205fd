/**
 * The OpenFeature server provider, through the real OpenFeature server SDK
 * (`OpenFeature.setProviderAndWait`, `OpenFeature.getClient()`): the four value
 * types, reasons and error codes, the context mapping, provider events (over a
 * loopback SSE server), tracking, and the boolean spec/cases.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, type EvaluationDetails, type EventDetails, type FlagValue } from '@openfeature/server-sdk';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FlagConfig, Snapshot } from '@rollgate/core';
import { compareEvaluation, loadSpecCases, snapshotFor } from '../../../spec/cases.js';
import type { EvaluateCase } from '../../../spec/cases.js';
import { booleanFlag, SNAPSHOT } from './fixtures.test-helpers.js';
import { createClient, type RollgateClient } from './index.js';
import { RollgateProvider, toRollgateContext } from './openfeature.js';

const silent = {};

const FLAGS: Snapshot = {
  ...SNAPSHOT,
  flags: [
    ...SNAPSHOT.flags,
    {
      key: 'max-items',
      type: 'number',
      variations: [
        { key: 'small', value: 10 },
        { key: 'large', value: 50 },
      ],
      enabled: true,
      offVariation: 'small',
      fallthrough: { variation: 'large' },
    },
    {
      key: 'theme',
      type: 'json',
      variations: [
        { key: 'light', value: { background: 'white', accent: 'blue' } },
        { key: 'dark', value: { background: 'black', accent: 'orange' } },
      ],
      enabled: true,
      offVariation: 'light',
      fallthrough: { variation: 'dark' },
    },
    booleanFlag('kill-switched', { enabled: false, fallthrough: { variation: 'on' } }),
    booleanFlag('half', { fallthrough: { rollout: { percentage: 50, variation: 'on' } } }),
    booleanFlag('only-alice', { targets: [{ variation: 'on', values: ['alice'] }] }),
    booleanFlag('needs-checkout', { prerequisites: [{ flag: 'new-checkout', variations: ['on'] }], fallthrough: { variation: 'on' } }),
  ],
};

let providers = 0;
/** A provider over an offline client bootstrapped with `snapshot`, registered for a domain of its own. */
async function openFeatureClient(snapshot: unknown = FLAGS) {
  const provider = new RollgateProvider({ offline: true, bootstrap: snapshot, logger: silent, env: {} });
  const domain = `test-${providers++}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  return { provider, client: OpenFeature.getClient(domain) };
}

afterEach(async () => {
  await OpenFeature.clearProviders();
});

describe('RollgateProvider through the OpenFeature server SDK', () => {
  it('has its metadata, runs on the server, and is READY once initialized', async () => {
    const { provider, client } = await openFeatureClient();
    expect(provider.metadata).toEqual({ name: 'rollgate' });
    expect(provider.runsOn).toBe('server');
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(client.metadata.providerMetadata.name).toBe('rollgate');
  });

  it('resolves the four value types with variant, reason and flagMetadata', async () => {
    const { client } = await openFeatureClient();
    expect(await client.getBooleanDetails('new-checkout', false, { targetingKey: 'u1', country: 'US' })).toEqual({
      flagKey: 'new-checkout',
      value: true,
      variant: 'on',
      reason: 'TARGETING_MATCH',
      flagMetadata: { ruleId: 'north-america' },
    });
    expect(await client.getBooleanValue('new-checkout', true, { country: 'FR' })).toBe(false);
    expect(await client.getStringDetails('banner', 'x')).toEqual({ flagKey: 'banner', value: 'Bonjour', variant: 'b', reason: 'STATIC', flagMetadata: {} });
    expect(await client.getNumberDetails('max-items', 1)).toMatchObject({ value: 50, variant: 'large', reason: 'STATIC' });
    expect(await client.getNumberValue('max-items', 1)).toBe(50);
    expect(await client.getObjectDetails('theme', {})).toMatchObject({ value: { background: 'black', accent: 'orange' }, variant: 'dark', reason: 'STATIC' });
    expect(await client.getObjectValue('theme', { background: 'none' })).toEqual({ background: 'black', accent: 'orange' });
  });

  it('maps the reasons: DISABLED, SPLIT, TARGETING_MATCH (individual target), DEFAULT with a prerequisite not met', async () => {
    const { client } = await openFeatureClient();
    expect(await client.getBooleanDetails('kill-switched', true, { targetingKey: 'u1' })).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    const split = await Promise.all(Array.from({ length: 200 }, (_, i) => client.getBooleanDetails('half', false, { targetingKey: `user-${i}` })));
    expect(new Set(split.map((d) => d.reason))).toEqual(new Set(['SPLIT']));
    const on = split.filter((d) => d.value).length;
    expect(on).toBeGreaterThan(60);
    expect(on).toBeLessThan(140);
    expect(split.every((d) => d.variant === (d.value ? 'on' : 'off'))).toBe(true);
    expect(await client.getBooleanDetails('only-alice', false, { targetingKey: 'alice' })).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagMetadata: {} });
    expect(await client.getBooleanDetails('needs-checkout', true, { country: 'FR' })).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'DEFAULT',
      flagMetadata: { prerequisite: 'new-checkout' },
    });
    expect(await client.getBooleanDetails('needs-checkout', false, { country: 'CA' })).toMatchObject({ value: true, variant: 'on', reason: 'DEFAULT' });
  });

  it('maps the error codes: FLAG_NOT_FOUND, TYPE_MISMATCH, PARSE_ERROR (default value, reason ERROR)', async () => {
    const { client } = await openFeatureClient();
    expect(await client.getBooleanDetails('nope', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await client.getNumberDetails('banner', 3)).toMatchObject({ value: 3, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getBooleanDetails('banner', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getObjectDetails('max-items', { a: 1 })).toMatchObject({ value: { a: 1 }, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH });
    const broken = await openFeatureClient({ flags: [{ key: 'bad', type: 'boolean', variations: [], enabled: true, offVariation: 'x', fallthrough: { variation: 'y' } }] });
    const parse = await broken.client.getBooleanDetails('bad', true);
    expect(parse).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PARSE_ERROR });
    expect(parse.errorMessage).toEqual(expect.any(String));
    const garbage = await openFeatureClient({ not: 'a snapshot' });
    expect(await garbage.client.getStringDetails('banner', 'd')).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: ErrorCode.PARSE_ERROR });
  });

  it('maps PROVIDER_NOT_READY from a client that has no snapshot', async () => {
    // Evaluated on the provider directly: the SDK itself short-circuits a NOT_READY provider.
    const provider = new RollgateProvider({ url: 'http://127.0.0.1:9', token: 'rg_server_x', logger: silent, reconnectBaseMs: 50, reconnectMaxMs: 100 });
    expect(await provider.resolveBooleanEvaluation('new-checkout', true, {})).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_NOT_READY });
    await provider.onClose();
  });

  it('maps targetingKey to userId unless the context has a userId', async () => {
    const { client, provider } = await openFeatureClient();
    expect(await client.getBooleanValue('only-alice', false, { targetingKey: 'alice' })).toBe(true);
    expect(await client.getBooleanValue('only-alice', false, { targetingKey: 'alice', userId: 'bob' })).toBe(false);
    expect(await client.getBooleanValue('only-alice', false, { targetingKey: 'bob', userId: 'alice' })).toBe(true);
    for (let i = 0; i < 50; i++) {
      const of = await client.getBooleanDetails('half', false, { targetingKey: `user-${i}`, country: 'DE' });
      const direct = provider.client.evaluate('half', { userId: `user-${i}`, country: 'DE' }, false);
      expect([of.value, of.variant, of.reason]).toEqual([direct.value, direct.variant, direct.reason]);
    }
    expect(toRollgateContext({ targetingKey: 'k', plan: 'pro' })).toEqual({ targetingKey: 'k', plan: 'pro', userId: 'k' });
    const own = Object.freeze({ userId: 'u', targetingKey: 'k' });
    expect(toRollgateContext(own)).toBe(own);
    expect(toRollgateContext(undefined)).toEqual({});
  });

  it('uses an existing client, does not close it on OpenFeature.close() unless asked', async () => {
    const rollgate = createClient({ offline: true, bootstrap: FLAGS, logger: silent });
    await OpenFeature.setProviderAndWait('existing', new RollgateProvider(rollgate));
    expect(await OpenFeature.getClient('existing').getStringValue('banner', 'x')).toBe('Bonjour');
    await OpenFeature.close();
    // Still the application's client: it answers, and listeners were detached.
    expect(rollgate.getValue('banner', {}, 'x')).toBe('Bonjour');
    expect(rollgate.listenerCount('update')).toBe(0);
    rollgate.close();
  });
});

describe('tracking', () => {
  it("calls the client's track(name, value, context), with details.value (1 without one)", async () => {
    const provider = new RollgateProvider({ offline: true, bootstrap: FLAGS, logger: {} });
    await OpenFeature.setProviderAndWait('tracking', provider);
    const client = OpenFeature.getClient('tracking');
    const calls: unknown[][] = [];
    Object.assign(provider.client, { track: (...args: unknown[]) => calls.push(args) });
    client.track('checkout', { targetingKey: 'u3', plan: 'pro' }, { value: 5 });
    client.track('checkout', { targetingKey: 'u4' });
    expect(calls).toEqual([
      ['checkout', 5, { targetingKey: 'u3', plan: 'pro', userId: 'u3' }],
      ['checkout', 1, { targetingKey: 'u4', userId: 'u4' }],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Events, over a loopback SSE server
// ---------------------------------------------------------------------------------------------

const flag = (key: string, on: boolean): FlagConfig => booleanFlag(key, { fallthrough: { variation: on ? 'on' : 'off' } });

describe('provider events', () => {
  let server: Server | undefined;
  let rollgate: RollgateClient | undefined;
  afterEach(async () => {
    rollgate?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  });

  async function sseServer(snapshot: Snapshot, status = 200): Promise<{ url: string; streams: ServerResponse[] }> {
    const streams: ServerResponse[] = [];
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'TOKEN_REVOKED' }));
        return;
      }
      if (req.url === '/api/client/snapshot') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(snapshot));
        return;
      }
      streams.push(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.headers['last-event-id'] === undefined) res.write(`event: snapshot\nid: ${snapshot.version}\ndata: ${JSON.stringify(snapshot)}\n\n`);
      else res.flushHeaders();
    });
    await new Promise<void>((r) => (server as Server).listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${((server as Server).address() as AddressInfo).port}`, streams };
  }

  function next(client: ReturnType<typeof OpenFeature.getClient>, event: ProviderEvents): Promise<EventDetails | undefined> {
    return new Promise((resolve) => {
      const handler = (details?: EventDetails) => {
        client.removeHandler(event, handler);
        resolve(details);
      };
      client.addHandler(event, handler);
    });
  }

  it('READY on initialization, CONFIGURATION_CHANGED with flagsChanged, STALE and READY again', async () => {
    const { url, streams } = await sseServer({ environment: 'production', version: 1, flags: [flag('a', false), flag('b', true)], segments: [] });
    rollgate = createClient({ url, token: 't', logger: silent, reconnectBaseMs: 20, reconnectMaxMs: 50 });
    const provider = new RollgateProvider(rollgate);
    const client = OpenFeature.getClient('events');
    const readyEvents: (EventDetails | undefined)[] = [];
    client.addHandler(ProviderEvents.Ready, (d) => readyEvents.push(d));
    await OpenFeature.setProviderAndWait('events', provider);
    expect(readyEvents).toHaveLength(1);
    expect(readyEvents[0]?.providerName).toBe('rollgate');
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(await client.getBooleanValue('a', true)).toBe(false);

    const changed = next(client, ProviderEvents.ConfigurationChanged);
    (streams[0] as ServerResponse).write(`event: change\nid: 2\ndata: ${JSON.stringify({ version: 2, changes: [{ type: 'flag', key: 'a', removed: false, flag: flag('a', true) }] })}\n\n`);
    const details = await changed;
    expect(details?.flagsChanged).toEqual(['a']);
    expect(details?.metadata).toEqual({ version: 2 });
    expect(await client.getBooleanValue('a', false)).toBe(true);

    const stale = next(client, ProviderEvents.Stale);
    (streams[0] as ServerResponse).destroy();
    expect((await stale)?.message).toMatch(/cannot be reached/);
    expect(client.providerStatus).toBe(ProviderStatus.STALE);
    // Registered now: a READY handler added while the provider is READY runs at once.
    const readyAgain = next(client, ProviderEvents.Ready);
    // Evaluations go on from the last snapshot.
    expect(await client.getBooleanValue('a', false)).toBe(true);
    await readyAgain;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
  });

  it('ERROR with PROVIDER_FATAL status when the server refuses the token', async () => {
    const { url } = await sseServer({ version: 1, flags: [], segments: [] }, 401);
    rollgate = createClient({ url, token: 'revoked', logger: silent });
    const client = OpenFeature.getClient('fatal');
    const errors: (EventDetails | undefined)[] = [];
    client.addHandler(ProviderEvents.Error, (d) => errors.push(d));
    await expect(OpenFeature.setProviderAndWait('fatal', new RollgateProvider(rollgate))).rejects.toThrow(/401/);
    expect(client.providerStatus).toBe(ProviderStatus.FATAL);
    expect(errors).toHaveLength(1);
    expect(await client.getBooleanDetails('a', true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: ErrorCode.PROVIDER_FATAL });
  });

  it('ERROR when ready() times out, then READY once the client gets its snapshot', async () => {
    const { url } = await sseServer({ version: 1, flags: [flag('a', true)], segments: [] });
    // Delay the server: the provider's readyTimeoutMs is shorter than the first answer.
    const delayed = server as Server;
    const [handler] = delayed.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    delayed.removeAllListeners('request');
    delayed.on('request', (req, res) => setTimeout(() => handler?.(req, res), 150));
    rollgate = createClient({ url, token: 't', logger: silent });
    const client = OpenFeature.getClient('late');
    const ready = next(client, ProviderEvents.Ready);
    await expect(OpenFeature.setProviderAndWait('late', new RollgateProvider(rollgate, { readyTimeoutMs: 20 }))).rejects.toThrow(/no snapshot after 20 ms/);
    expect(client.providerStatus).toBe(ProviderStatus.ERROR);
    await ready;
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(await client.getBooleanValue('a', false)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// spec/cases: every evaluate case with a boolean default, through the OpenFeature client
// ---------------------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'rollgate-sdk-of-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

/** OpenFeature's details in the shape compareEvaluation reads (ruleId and prerequisite from flagMetadata). */
function outcomeOf(details: EvaluationDetails<FlagValue>): Record<string, unknown> {
  const out: Record<string, unknown> = { value: details.value, variant: details.variant, reason: details.reason };
  if (details.errorCode !== undefined) out.errorCode = details.errorCode;
  if (details.flagMetadata.ruleId !== undefined) out.ruleId = details.flagMetadata.ruleId;
  if (details.flagMetadata.prerequisite !== undefined) out.prerequisite = details.flagMetadata.prerequisite;
  return out;
}

describe('spec/cases through OpenFeature (boolean defaults)', () => {
  let total = 0;
  for (const file of loadSpecCases()) {
    const cases = file.cases.filter((c): c is EvaluateCase => c.kind === 'evaluate' && typeof c.input.default === 'boolean');
    if (cases.length === 0) continue;
    total += cases.length;
    it(`spec/cases/${file.name}.json (${cases.length} cases)`, async () => {
      const mismatches: string[] = [];
      for (const testCase of cases) {
        const { flag: key, context, random } = testCase.input;
        let bootstrap: unknown = snapshotFor(file, testCase);
        if (typeof bootstrap === 'string') {
          const path = join(dir, `snapshot-${fileCount++}.json`);
          writeFileSync(path, JSON.stringify(bootstrap));
          bootstrap = path;
        }
        const provider = new RollgateProvider({ offline: true, bootstrap: bootstrap ?? null, env: {}, logger: silent, ...(random === undefined ? {} : { random: () => random }) });
        await OpenFeature.setProviderAndWait('spec', provider);
        const details = await OpenFeature.getClient('spec').getBooleanDetails(key, testCase.input.default as boolean, context as Record<string, never>);
        const problems = compareEvaluation(testCase.expected, outcomeOf(details) as never);
        if (problems.length > 0) mismatches.push(`${testCase.name}: ${problems.join('; ')} (got ${JSON.stringify(details)})`);
      }
      expect(mismatches).toEqual([]);
    });
  }
  it('ran the boolean cases', () => {
    expect(total).toBeGreaterThan(50);
  });
});
