import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';

const open: Database[] = [];
afterAll(async () => {
  for (const db of open) await db.close();
});

describe('the embedded database', () => {
  it('runs with the shared_buffers it is given, and reports its WASM heap, which they are part of', async () => {
    const small = await openPglite(undefined, { sharedBuffers: '8MB' });
    open.push(small);
    const large = await openPglite(undefined, { sharedBuffers: '128MB' });
    open.push(large);
    expect(await small.query('show shared_buffers')).toEqual([{ shared_buffers: '8MB' }]);
    expect(await large.query('show shared_buffers')).toEqual([{ shared_buffers: '128MB' }]);
    const smallHeap = small.embeddedMemoryBytes?.() ?? NaN;
    const largeHeap = large.embeddedMemoryBytes?.() ?? NaN;
    expect(smallHeap).toBeGreaterThan(8 * 1024 * 1024);
    expect(largeHeap - smallHeap).toBeGreaterThanOrEqual(60 * 1024 * 1024);
  });

  it('keeps PGlite\'s own settings when given none', async () => {
    const db = await openPglite(undefined);
    open.push(db);
    expect(await db.query('show shared_buffers')).toEqual([{ shared_buffers: '128MB' }]);
    expect(await db.query('show max_worker_processes')).toEqual([{ max_worker_processes: '0' }]);
  });
});
