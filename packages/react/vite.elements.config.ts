// The custom-elements build: one minified ES module with React and Recharts inside, for pages without React.
// A plain build with a script entry rather than library mode, which leaves an "es" bundle unminified.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // React, React DOM and Recharts in one file: the size is the point of a drop-in build.
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      input: 'src/elements.tsx',
      preserveEntrySignatures: 'exports-only',
      output: { entryFileNames: 'bursar-elements.js', format: 'es' },
    },
  },
});
