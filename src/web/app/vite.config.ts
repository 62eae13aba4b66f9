/** Builds the browser app into dist/web-app; the bundled model and its samples are copied beside it. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));
// onnxruntime-web starts its worker threads from its own module's URL: it needs a chunk of its own,
// or each of its threads would load (and run) the whole explainer worker.
const output = { manualChunks: (id: string) => (id.includes('onnxruntime-web') ? 'onnxruntime-web' : undefined) };

export default defineConfig({
  root: at('.'),
  base: './',
  publicDir: at('../../../models'),
  logLevel: 'warn',
  build: {
    outDir: at('../../../dist/web-app'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    rollupOptions: { output },
  },
  worker: { format: 'es', rollupOptions: { output } },
});
