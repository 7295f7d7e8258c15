// Builds the console for `bursar serve`, which serves packages/console/dist at /console/.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  // Recharts and React make one ~830 kB chunk (240 kB gzipped), served from the same process: no split needed.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
  // `npm run dev -w @bursar/console` proxies the API to a local `npm start` on the default port.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
