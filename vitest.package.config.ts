import { defineConfig } from 'vitest/config';

// The installed-package test (pack, npm install into a temporary project, API, README examples,
// CLI, strict TypeScript consumer): `npm run test:package`, kept out of `npm test` for its length.
export default defineConfig({
  test: {
    include: ['test/package.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
