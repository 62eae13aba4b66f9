// tsc does not keep the executable bit: the CLI entry needs it for `npx relprop`.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/node/cli/main.js', import.meta.url), 0o755);
