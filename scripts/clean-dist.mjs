// Remove dist/ before building, so files of moved or deleted modules never linger in it.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
