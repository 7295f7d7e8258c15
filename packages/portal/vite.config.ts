// The customer portal's build: served by `bursar serve` at /portal/, so every asset URL starts there.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/portal/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // React and Recharts are most of the bundle; one file is fine for a page opened once per visit.
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` against a running `bursar serve` (BURSAR_URL, default http://127.0.0.1:3000).
    proxy: {
      '/v1': process.env.BURSAR_URL ?? 'http://127.0.0.1:3000',
      '/portal/session': process.env.BURSAR_URL ?? 'http://127.0.0.1:3000',
    },
  },
});
