import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { bootstrap } from '../bootstrap.js';
import { defaultConfig } from '../config.js';
import { openTestDatabase } from '../testing.test-helpers.js';
import { redactUrl } from './log-redaction.js';

describe('redactUrl', () => {
  it('replaces credentials in the query and tokens anywhere, and keeps the rest', () => {
    expect(redactUrl('/api/client/stream?access_token=rg_server_abcDEF123-_x&lastEventId=4')).toBe('/api/client/stream?access_token=[redacted]&lastEventId=4');
    expect(redactUrl('/x?api_key=hunter2&Token=1&client_secret=s&password=p&limit=10')).toBe('/x?api_key=[redacted]&Token=[redacted]&client_secret=[redacted]&password=[redacted]&limit=10');
    expect(redactUrl('/x?q=rg_admin_s3cr3t&n=%61ccess_token')).toBe('/x?q=rg_admin_[redacted]&n=%61ccess_token');
    expect(redactUrl('/x?%61ccess_token=v')).toBe('/x?%61ccess_token=[redacted]');
    expect(redactUrl('/api/projects/rg_browser_s3cr3t/flags')).toBe('/api/projects/rg_browser_[redacted]/flags');
    expect(redactUrl('/api/projects?limit=5&cursor=abc')).toBe('/api/projects?limit=5&cursor=abc');
    expect(redactUrl('/x?%E0%A4%A=1')).toBe('/x?%E0%A4%A=1');
  });
});

describe('the request log', () => {
  it('never holds a token sent in the URL', async () => {
    const database = await openTestDatabase('pglite');
    const lines: string[] = [];
    const app = await buildApp({ config: defaultConfig({ logLevel: 'info' }), db: database.db, logStream: { write: (line) => void lines.push(line) } });
    try {
      await bootstrap(database.db, 'rg_admin_log-test-0123456789abcdef');
      const secret = 'rg_server_THIS-IS-SECRET-0123456789';
      for (const url of [`/api/projects?access_token=${secret}`, `/healthz?token=${secret}`, `/api/projects/${secret}`]) await app.inject({ method: 'GET', url });
      const logged = lines.map((l) => JSON.parse(l) as { req?: { url?: string } }).filter((l) => l.req?.url !== undefined);
      expect(logged.map((l) => l.req?.url)).toEqual(['/api/projects?access_token=[redacted]', '/healthz?token=[redacted]', '/api/projects/rg_server_[redacted]']);
      expect(lines.join('\n')).not.toContain('THIS-IS-SECRET');
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
