/**
 * The access matrix, generated from the route table: every route x every kind
 * of caller, against the expected access written out below. A route added
 * without an entry fails; so does any caller getting past a route it should
 * not, or being refused one it should reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, testBackends, type TestApp } from '../testing.test-helpers.js';
import { registeredRoutes } from './routes.js';

/**
 * Who may call a route: `public` anyone; `server` / `browser` SDK tokens of
 * that kind (of any project: they read their own environment); `user` any
 * user token; `instance-admin` instance admins; a role: users with at least
 * that role in the route's project.
 */
type Expected = 'session' | 'public' | 'server' | 'browser' | 'user' | 'instance-admin' | 'viewer' | 'editor' | 'approver' | 'admin';

const EXPECTED: Record<string, Expected> = {
  'GET /api/projects': 'user',
  'POST /api/projects': 'instance-admin',
  'GET /api/projects/:projectKey': 'viewer',
  'PATCH /api/projects/:projectKey': 'admin',
  'GET /api/projects/:projectKey/environments': 'viewer',
  'POST /api/projects/:projectKey/environments': 'admin',
  'GET /api/projects/:projectKey/environments/:environmentKey': 'viewer',
  'PATCH /api/projects/:projectKey/environments/:environmentKey': 'admin',
  // Called with ?projectKey=m: a project's audit log is for those with a role in it.
  'GET /api/audit': 'viewer',
  'GET /api/projects/:projectKey/members': 'viewer',
  'PUT /api/projects/:projectKey/members/:userId': 'admin',
  'DELETE /api/projects/:projectKey/members/:userId': 'admin',
  'GET /api/users': 'instance-admin',
  'POST /api/users': 'instance-admin',
  'GET /api/me': 'user',
  // Called with another user's id: only admins read other users.
  'GET /api/users/:userId': 'instance-admin',
  'PATCH /api/users/:userId': 'instance-admin',
  'GET /api/tokens': 'user',
  'POST /api/tokens': 'user',
  'DELETE /api/tokens/:tokenId': 'user',
  'GET /api/projects/:projectKey/segments': 'viewer',
  'POST /api/projects/:projectKey/segments': 'editor',
  'GET /api/projects/:projectKey/segments/:segmentKey': 'viewer',
  'PATCH /api/projects/:projectKey/segments/:segmentKey': 'editor',
  'DELETE /api/projects/:projectKey/segments/:segmentKey': 'editor',
  'GET /api/projects/:projectKey/plan-templates': 'viewer',
  'GET /api/projects/:projectKey/plans': 'viewer',
  'POST /api/projects/:projectKey/plans': 'editor',
  'GET /api/projects/:projectKey/plans/:planKey': 'viewer',
  'PATCH /api/projects/:projectKey/plans/:planKey': 'editor',
  'GET /api/projects/:projectKey/plans/:planKey/versions/:version': 'viewer',
  'POST /api/projects/:projectKey/plans/:planKey/archive': 'editor',
  'POST /api/projects/:projectKey/plans/:planKey/unarchive': 'editor',
  'GET /api/projects/:projectKey/metrics': 'viewer',
  'POST /api/projects/:projectKey/metrics/:metricKey/read': 'editor',
  'GET /api/projects/:projectKey/metric-definitions': 'viewer',
  'POST /api/projects/:projectKey/metric-definitions': 'editor',
  'GET /api/projects/:projectKey/metric-definitions/:metricKey': 'viewer',
  'PATCH /api/projects/:projectKey/metric-definitions/:metricKey': 'editor',
  'DELETE /api/projects/:projectKey/metric-definitions/:metricKey': 'editor',
  'GET /api/projects/:projectKey/flags': 'viewer',
  'POST /api/projects/:projectKey/flags': 'editor',
  'GET /api/projects/:projectKey/flags/:flagKey': 'viewer',
  'PATCH /api/projects/:projectKey/flags/:flagKey': 'editor',
  'POST /api/projects/:projectKey/flags/:flagKey/archive': 'editor',
  'POST /api/projects/:projectKey/flags/:flagKey/unarchive': 'editor',
  'GET /api/projects/:projectKey/flags/:flagKey/environments/:environmentKey': 'viewer',
  'PUT /api/projects/:projectKey/flags/:flagKey/environments/:environmentKey': 'editor',
  'GET /api/projects/:projectKey/change-requests': 'viewer',
  'GET /api/projects/:projectKey/change-requests/:id': 'viewer',
  'POST /api/projects/:projectKey/change-requests/:id/approve': 'approver',
  'POST /api/projects/:projectKey/change-requests/:id/reject': 'approver',
  'POST /api/projects/:projectKey/change-requests/:id/cancel': 'editor',
  'POST /api/projects/:projectKey/rollouts': 'editor',
  'GET /api/projects/:projectKey/rollouts': 'viewer',
  'GET /api/projects/:projectKey/rollouts/:rolloutId': 'viewer',
  'GET /api/projects/:projectKey/rollouts/:rolloutId/decisions': 'viewer',
  'GET /api/projects/:projectKey/rollouts/:rolloutId/rollbacks': 'viewer',
  'GET /api/projects/:projectKey/rollouts/:rolloutId/experiment': 'viewer',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/advance': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/hold': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/resume': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/rollback': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/disable': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/abort': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/restart': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/checklist/:itemId': 'editor',
  // Anyone who may act on the rollout records a verdict; what it counts for depends on their role there.
  'POST /api/projects/:projectKey/rollouts/:rolloutId/approve': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/reject': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/go': 'editor',
  'POST /api/projects/:projectKey/rollouts/:rolloutId/no-go': 'editor',
  'POST /api/client/metrics': 'server',
  'GET /api/client/snapshot': 'server',
  'GET /api/client/stream': 'server',
  'POST /api/frontend/evaluate': 'browser',
  'GET /api/frontend/stream': 'browser',
  // Dashboard sign-in: the body carries the token; the session cookie, not a bearer token, is what GET and DELETE read.
  'POST /api/session': 'public',
  'DELETE /api/session': 'public',
  // Read by the session cookie only: 401 UNAUTHENTICATED for every bearer caller.
  'GET /api/session': 'session',
  // Every user; each sees only the projects they have a role in.
  'GET /api/dashboard/overview': 'user',
  'GET /api/dashboard/stream': 'user',
  'GET /api/projects/:projectKey/rollouts/:rolloutId/metric-series': 'viewer',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /openapi.json': 'public',
};

const CALLERS = ['no token', 'revoked', 'viewer of another project', 'viewer', 'editor', 'approver', 'admin', 'server', 'browser', 'token of another project'] as const;
type Caller = (typeof CALLERS)[number];

/** Roles in project `m` of the callers that have one (admins: every project). */
const ROLE_IN_M: Partial<Record<Caller, number>> = { viewer: 0, editor: 1, approver: 2, admin: 3 };
const RANK = { viewer: 0, editor: 1, approver: 2, admin: 3 } as const;
const USERS: readonly Caller[] = ['viewer of another project', 'viewer', 'editor', 'approver', 'admin'];

function allowed(expected: Expected, caller: Caller): boolean {
  switch (expected) {
    case 'session':
      return false;
    case 'public':
      return true;
    case 'server':
      return caller === 'server' || caller === 'token of another project';
    case 'browser':
      return caller === 'browser';
    case 'user':
      return USERS.includes(caller);
    case 'instance-admin':
      return caller === 'admin';
    default: {
      const rank = ROLE_IN_M[caller];
      return rank !== undefined && rank >= RANK[expected];
    }
  }
}

/** A concrete URL of a route, in project `m` and its environment `live`; other ids name nothing. */
function urlOf(pattern: string): string {
  const url = pattern.replace(/:([A-Za-z]+)/g, (_m, name: string) => ({ projectKey: 'm', environmentKey: 'live', version: '1' })[name] ?? 'nope');
  return url === '/api/audit' ? `${url}?projectKey=m` : url;
}

describe.each(testBackends())('the access matrix (%s)', (backend) => {
  let t: TestApp;
  const tokens = new Map<Caller, string | null>();

  beforeAll(async () => {
    t = await createTestApp(backend);
    for (const [project, env] of [
      ['m', 'live'],
      ['other', 'elsewhere'],
    ] as const) {
      expect((await t.request('POST', '/api/projects', { key: project, name: project })).status).toBe(201);
      expect((await t.request('POST', `/api/projects/${project}/environments`, { key: env, name: env })).status).toBe(201);
    }
    /** A user whose base role is none, with `role` in `project` only, and their token. */
    const user = async (name: string, project: string, role: string): Promise<string> => {
      const created = await t.request('POST', '/api/users', { email: `${name.replace(/ /g, '.')}@example.test`, name, role: 'none' });
      expect(created.status).toBe(201);
      expect((await t.request('PUT', `/api/projects/${project}/members/${created.body.id}`, { role })).status).toBe(200);
      return (await t.request('POST', '/api/tokens', { kind: 'admin', name, userId: created.body.id })).body.secret;
    };
    const sdk = async (kind: string, projectKey: string, environmentKey: string) =>
      (await t.request('POST', '/api/tokens', { kind, name: kind, projectKey, environmentKey })).body.secret as string;
    tokens.set('no token', null);
    tokens.set('viewer of another project', await user('other viewer', 'other', 'viewer'));
    for (const role of ['viewer', 'editor', 'approver'] as const) tokens.set(role, await user(role, 'm', role));
    tokens.set('admin', t.adminToken);
    tokens.set('server', await sdk('server', 'm', 'live'));
    tokens.set('browser', await sdk('browser', 'm', 'live'));
    tokens.set('token of another project', await sdk('server', 'other', 'elsewhere'));
    const doomed = await t.request('POST', '/api/tokens', { kind: 'server', name: 'doomed', projectKey: 'm', environmentKey: 'live' });
    expect((await t.request('DELETE', `/api/tokens/${doomed.body.token.id}`)).status).toBe(200);
    tokens.set('revoked', doomed.body.secret);
  });
  afterAll(() => t.close());

  it('has an expected access for every route, and none for routes that are gone', () => {
    const routes = registeredRoutes(t.app).map((r) => `${r.method} ${r.url}`);
    expect(routes.filter((r) => EXPECTED[r] === undefined), 'routes with no entry in EXPECTED').toEqual([]);
    expect(Object.keys(EXPECTED).filter((k) => !routes.includes(k)), 'entries for routes that no longer exist').toEqual([]);
  });

  it('answers every route x caller as expected, and changes nothing', async () => {
    const [before] = await t.db.query<{ n: number }>('select count(*)::int as n from audit_events');
    const wrong: string[] = [];
    for (const spec of registeredRoutes(t.app)) {
      const expected = EXPECTED[`${spec.method} ${spec.url}`];
      if (expected === undefined) continue;
      for (const caller of CALLERS) {
        const token = tokens.get(caller) ?? null;
        const res = await t.app.inject({
          method: spec.method,
          url: urlOf(spec.url),
          headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(spec.method === 'GET' || spec.method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
          ...(spec.method === 'GET' || spec.method === 'DELETE' ? {} : { payload: '{}' }),
          // Streams answer with their headers; their body never ends.
          payloadAsStream: true,
        });
        const stream = res.stream();
        const status = res.statusCode;
        let code: string | undefined;
        if (status === 401 || status === 403) {
          let body = '';
          for await (const chunk of stream) body += String(chunk);
          code = JSON.parse(body).code;
        } else stream.destroy();
        const ok = allowed(expected, caller);
        const denial = expected === 'session' || caller === 'no token' || caller === 'revoked' ? [401, 'UNAUTHENTICATED'] : [403, 'FORBIDDEN'];
        const right = ok ? status < 500 && status !== 401 && status !== 403 : status === denial[0] && code === denial[1];
        if (!right) wrong.push(`${spec.method} ${spec.url} as ${caller}: ${status} ${code ?? ''} (expected ${ok ? 'allowed' : `${denial[0]} ${denial[1]}`})`);
      }
    }
    expect(wrong).toEqual([]);
    const [after] = await t.db.query<{ n: number }>('select count(*)::int as n from audit_events');
    expect(after?.n).toBe(before?.n);
  });
});
