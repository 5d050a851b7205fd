import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * `npm run dev -w @rollgate/web`: Vite's dev server on :5173, with /api
 * proxied to a Rollgate running on its default address (rollgate start).
 */
export default defineConfig({
  plugins: [react()],
  resolve: {
    // Workspace packages build from their TypeScript sources: no build order between them.
    conditions: ['@rollgate/source'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    port: 5173,
    proxy: { '/api': { target: 'http://127.0.0.1:4242', changeOrigin: false } },
  },
});
