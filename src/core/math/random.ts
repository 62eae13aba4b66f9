export { gaussian, mulberry32 } from './rng.js'; // TODO(h-util): only so that src/core/train/graph.ts's import compiles; delete when train moves to rngFor.
