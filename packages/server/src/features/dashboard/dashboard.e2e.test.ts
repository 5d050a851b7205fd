/**
 * The dashboard end to end: the built web app served by the real server
 * (listening on a port, embedded database, a clock the test moves), driven in
 * Debian's Chromium. Screenshots of every page at desktop and phone widths go
 * to test-results/dashboard/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { evaluate, type Snapshot } from '@rollgate/core';
import { createTestApp, productionWithoutApproval, type TestApp } from '../../testing.test-helpers.js';
import { createSdkToken } from '../client/client.test-helpers.js';
import { rolloutFeatureOf, type RolloutFeature } from '../rollouts/rollout-feature.js';
import { FakeSource, HOUR, MINUTE, TestClock } from '../rollouts/rollouts.test-helpers.js';
import { createUserWithToken, type TestUser } from '../users/user-fixtures.test-helpers.js';
import { DEFAULT_DASHBOARD_DIR } from './dashboard-assets.js';

const SHOTS = fileURLToPath(new URL('../../../../../test-results/dashboard/', import.meta.url));
const require = createRequire(import.meta.url);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A plan with short stages: 10% for an hour, then 50%, guarded on the error rate. */
const PLAN = {
  key: 'quick',
  name: 'Quick two-stage rollout',
  definition: {
    stages: [
      {
        id: 'ten',
        name: '10% canary',
        audience: { percentage: 10 },
        minDuration: HOUR,
        minSamples: 100,
        gates: [
          { id: 'errors-ok', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 }, description: 'Error rate < 1%' },
          { id: 'errors-bad', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 5 }, description: 'Error rate > 5%: roll back' },
        ],
      },
      {
        id: 'fifty',
        name: '50% of users',
        audience: { percentage: 50 },
        minDuration: HOUR,
        minSamples: 100,
        gates: [
          { id: 'errors-ok', metric: 'error-rate', role: 'success', condition: { type: 'absolute', op: '<', value: 1 }, description: 'Error rate < 1%' },
          { id: 'errors-bad', metric: 'error-rate', role: 'rollback', condition: { type: 'absolute', op: '>', value: 5 }, description: 'Error rate > 5%: roll back' },
        ],
      },
    ],
  },
};

describe('the dashboard in Chromium', () => {
  let t: TestApp;
  let feature: RolloutFeature;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let baseUrl: string;
  let viewer: TestUser;
  let rolloutId = '';
  const time = new TestClock();
  const fake = new FakeSource();
  const errors: string[] = [];
  let axeSource = '';

  beforeAll(async () => {
    // The suite needs the built dashboard (npm run build).
    await readFile(`${DEFAULT_DASHBOARD_DIR}index.html`);
    axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    await mkdir(SHOTS, { recursive: true });
    t = await createTestApp('pglite', { clock: time.clock, config: { rolloutTickMs: 0, heartbeatMs: 1_000 } });
    await productionWithoutApproval(t);
    feature = rolloutFeatureOf(t.app);
    fake.step = 5 * MINUTE;
    feature.setObservationSource(fake.source);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    expect((await t.request('POST', '/api/projects/default/plans', PLAN)).status).toBe(201);
    viewer = await createUserWithToken(t, 'viewer', 'Vera Viewer');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await admin.newPage();
    page.setDefaultTimeout(8_000);
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function axe(p: Page, name: string): Promise<void> {
    await p.evaluate(axeSource);
    // A string, run in the page: this file is compiled without the DOM's types.
    const result = (await p.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`)) as { id: string; impact: string; targets: string[] }[];
    const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious, `${name}: ${JSON.stringify(serious)}`).toEqual([]);
  }

  async function shoot(p: Page, name: string): Promise<void> {
    await p.screenshot({ path: `${SHOTS}${name}-desktop.png`, fullPage: true });
    const size = p.viewportSize();
    await p.setViewportSize({ width: 390, height: 844 });
    await p.waitForTimeout(150);
    await p.screenshot({ path: `${SHOTS}${name}-phone.png`, fullPage: true });
    if (size !== null) await p.setViewportSize(size);
  }

  async function tick(): Promise<void> {
    await feature.controller.tick();
  }

  it('signs in with a user token and shows the overview', async () => {
    await page.goto(baseUrl);
    await page.getByLabel('Your user token').fill(t.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Rollouts' }).waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    // The token is nowhere in the page's storage; the cookie is httpOnly.
    const stored = String(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie'));
    expect(stored).not.toContain(t.adminToken);
    expect(stored).not.toContain('rollgate_session');
    const cookies = await admin.cookies();
    expect(cookies.find((c) => c.name === 'rollgate_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('creates a flag with a rule, and the playground answers as the SDK does', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Flags' }).click();
    await page.getByLabel('New flag key').fill('new-checkout');
    await page.getByRole('button', { name: 'Create flag' }).click();
    await page.getByRole('link', { name: 'new-checkout' }).click();
    await page.getByRole('heading', { name: 'new-checkout' }).waitFor();
    await page.getByLabel('Environment').selectOption('production');
    // A rule the API refuses shows its message at the field.
    await page.getByLabel('Attribute').fill('country');
    await page.getByLabel('Operator').selectOption('gt');
    await page.getByLabel('Values (comma-separated)').fill('DE');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByRole('alert').first().waitFor();
    await page.getByLabel('Operator').selectOption('in');
    await page.getByLabel('Values (comma-separated)').fill('DE, AT');
    await page.getByLabel('Serve').selectOption('on');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByText(/if country in DE, AT/).waitFor();
    // Turn it on in production, confirming what happens to whom.
    await page.getByRole('button', { name: 'Turn on' }).first().click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByText(/rules apply again in Production/)).toBeTruthy();
    await dialog.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('On', { exact: true }).first().waitFor();

    await page.getByLabel('Context (JSON)').fill('{"userId": "user-7", "country": "DE"}');
    await page.getByTestId('playground-reason').getByText('TARGETING_MATCH').waitFor().catch(async (e: unknown) => {
      throw new Error(`${String(e)}; the playground says: ${await page.locator('#playground-answer').textContent()}`);
    });
    const shown = { variant: await page.getByTestId('playground-variant').textContent(), reason: await page.getByTestId('playground-reason').textContent() };
    // The SDK's answer: the core evaluator on the snapshot the server gives a server SDK.
    const token = await createSdkToken(t.db, 'server', 'production');
    const snapshot = (await t.request('GET', '/api/client/snapshot', undefined, token)).body as Snapshot;
    const sdk = evaluate(snapshot, 'new-checkout', { userId: 'user-7', country: 'DE' }, false);
    expect(shown).toEqual({ variant: sdk.variant, reason: sdk.reason });
    await page.getByText(/Rule 1 .* matched/).waitFor();
    await axe(page, 'flag');
    await shoot(page, 'flag');
    await page.getByRole('navigation').getByRole('link', { name: 'Flags' }).click();
    await page.getByRole('link', { name: 'new-checkout' }).waitFor();
    await axe(page, 'flags');
    await shoot(page, 'flags');
  });

  it('follows a running rollout live: it advances, rolls back on a regression, and rolls back by hand', async () => {
    const started = await t.request('POST', '/api/projects/default/rollouts', { flagKey: 'new-checkout', environmentKey: 'production', planKey: 'quick' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    rolloutId = started.body.id;
    await page.getByRole('navigation').getByRole('link', { name: 'Rollouts' }).click();
    await page.getByRole('link', { name: 'new-checkout' }).waitFor();
    await page.locator('td[data-label="Phase"]').getByText(/1 of 2/).waitFor();
    await axe(page, 'overview');
    await shoot(page, 'overview');

    await page.getByRole('link', { name: 'new-checkout' }).click();
    await page.getByRole('heading', { name: /new-checkout/ }).waitFor();
    time.advance(30 * MINUTE);
    await page.reload();
    await page.getByRole('heading', { name: 'Error rate' }).waitFor();
    await page.getByText(/Error rate .* success criterion < 1%/).waitFor();

    // The stage's hour passes with healthy data: the controller advances and the open page follows.
    time.advance(HOUR);
    await tick();
    await page.locator('.facts').getByText(/2 of 2/).waitFor({ timeout: 5_000 });
    await page.locator('.stage-current').getByText('50% of users').first().waitFor({ timeout: 5_000 });

    // A regression: the rollback trigger fires, and the rollback, its reason and its tile appear.
    time.advance(10 * MINUTE);
    fake.overrides.set('error-rate', { value: 9, since: time.now - 5 * MINUTE, aggregate: 9 });
    time.advance(5 * MINUTE);
    await tick();
    await page.locator('.rollback-entry').first().waitFor({ timeout: 5_000 });
    await page.locator('.rollback-entry').getByText(/errors-bad|Error rate|error-rate/).first().waitFor();
    await page.getByText('rolled back', { exact: true }).first().waitFor();
    // The tile shows the breach that stopped it, with its numbers.
    await page.locator('.tile-fail').getByText(/rollback trigger > 5%: breached/).waitFor({ timeout: 12_000 });
    await axe(page, 'rollout-rolled-back');
    await shoot(page, 'rollout-rolled-back');

    // Restart, then roll back by hand, confirming.
    fake.overrides.clear();
    await page.getByRole('button', { name: 'Restart' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Restart' }).click();
    await page.getByRole('button', { name: 'Roll back to 0%' }).waitFor();
    time.advance(20 * MINUTE);
    await page.reload();
    await page.getByRole('heading', { name: 'Error rate' }).waitFor();
    await axe(page, 'rollout');
    await shoot(page, 'rollout');
    await page.getByRole('button', { name: 'Roll back to 0%' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(/will stop seeing new-checkout/).waitFor();
    await dialog.getByLabel('Comment (optional)').fill('checking a support report');
    await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
    await page.locator('.rollback-entry').nth(1).waitFor({ timeout: 5_000 });
    await page.getByText(/checking a support report/).first().waitFor();
    const rollbacks = (await t.request('GET', `/api/projects/default/rollouts/${rolloutId}/rollbacks`)).body.items;
    expect(rollbacks.map((r: any) => r.actor.kind)).toEqual(['user', 'system']);
  });

  it('shows the other pages without serious accessibility problems', async () => {
    for (const [link, heading, name] of [
      ['Plans', 'Plans', 'plans'],
      ['Segments', 'Segments', 'segments'],
      ['Environments', 'Environments', 'environments'],
      ['Metrics', 'Metrics catalog', 'catalog'],
      ['Tokens', 'Tokens', 'tokens'],
      ['Users', 'Users', 'users'],
      ['Audit log', 'Audit log', 'audit'],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await (name === 'plans' ? page.getByText('Quick two-stage rollout') : page.locator('table:visible').first()).waitFor();
      await axe(page, name);
      await shoot(page, name);
    }
  });

  it('shows a viewer no write buttons', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await context.newPage();
    await p.goto(baseUrl);
    await p.getByLabel('Your user token').fill(viewer.token);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('(viewer)').waitFor();
    await p.goto(`${baseUrl}/rollouts/default/${rolloutId}`);
    await p.getByRole('heading', { name: 'Decision log' }).waitFor();
    for (const name of ['Advance', 'Hold', 'Roll back to 0%', 'Fully disable', 'Restart', 'Tick', 'Approve']) {
      expect(await p.getByRole('button', { name }).count(), name).toBe(0);
    }
    await p.goto(`${baseUrl}/flags`);
    await p.getByRole('link', { name: 'new-checkout' }).waitFor();
    expect(await p.getByRole('button', { name: /Turn (on|off)/ }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Create flag' }).count()).toBe(0);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByLabel('Your user token').waitFor();
    await context.close();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Your user token').waitFor();
    await axe(page, 'sign-in');
    await shoot(page, 'sign-in');
    expect(errors.filter((e) => !/401|Failed to load resource/.test(e))).toEqual([]);
  });
});
