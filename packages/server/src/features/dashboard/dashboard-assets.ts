import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where `npm run build` puts the dashboard (packages/web/dist), from this server's src or dist folder. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

/**
 * The dashboard's Content-Security-Policy: scripts, styles and connections
 * from this origin only, no inline script or style, no plugins, never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** One file of the built dashboard, held in memory with its gzipped form. */
export interface DashboardAsset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  /** Vite's content-hashed files under assets/ never change: cache them for a year. */
  immutable: boolean;
}

/**
 * Reads the built dashboard into memory (it is small), keyed by URL path
 * (`/index.html`, `/assets/index-Bx1.js`); undefined when it is not built.
 */
export async function loadDashboardAssets(dir: string): Promise<Map<string, DashboardAsset> | undefined> {
  const files = await listFiles(dir).catch(() => undefined);
  if (files === undefined || !files.some((f) => relative(dir, f) === 'index.html')) return undefined;
  const assets = new Map<string, DashboardAsset>();
  for (const file of files) {
    const body = await readFile(file);
    const path = `/${relative(dir, file).split(sep).join('/')}`;
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 512;
    assets.set(path, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: path.startsWith('/assets/'),
    });
  }
  return assets;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
