/**
 * `relprop web`: serve the browser app (dist/web-app, built by `npm run build`) on this machine and
 * open it, or export it as a folder to host anywhere. The page compiles and runs explainers
 * itself on onnxruntime-web; the server only hands out files. It sends the cross-origin isolation
 * headers so that the WebAssembly backend may use threads.
 */
import { cpSync, createReadStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { checkOutputFolder } from '../io/atomic.js';
import { nonNegInt } from './values.js';

/** The built app: dist/web-app beside dist/src (this module run from dist/, or from src/ by the tests). */
export function webAppDir(): string {
  const built = fileURLToPath(new URL('../../../web-app', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('../../../dist/web-app', import.meta.url));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.onnx': 'application/octet-stream',
  '.npy': 'application/octet-stream',
};

function checkBuilt(dir: string): void {
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`the web app is not built (no ${join(dir, 'index.html')}): run npm run build in the relprop folder`);
}

/** A static file server for `root`, refusing paths outside it. Resolves once listening. */
export function serveFolder(root: string, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = resolve(root, `.${decodeURIComponent(url.pathname)}`);
    if (path !== root && !path.startsWith(root + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path) || !statSync(path).isFile() || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${relative(root, path)}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(path).size,
      // cross-origin isolation: SharedArrayBuffer, hence WebAssembly threads
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cache-control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(new Error(e.code === 'EADDRINUSE' ? `port ${port} is in use: pass --port N (0: any free port)` : `cannot listen on ${host}:${port}: ${e.message}`)),
    );
    server.listen(port, host, () => ok(server));
  });
}

/** Copy the app to `out` as a whole: into a sibling temporary folder, then renamed. */
export function exportApp(out: string): void {
  const src = webAppDir();
  checkBuilt(src);
  const dest = resolve(out);
  if (existsSync(dest)) throw new Error(`--export ${out}: it exists; give a new folder`);
  checkOutputFolder('--export', dirname(dest));
  const tmp = `${dest}.partial-${process.pid}`;
  try {
    cpSync(src, tmp, { recursive: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

interface WebFlags {
  port: number;
  host: string;
  open: boolean;
  export?: string;
}

export function registerWebCommand(program: Command): void {
  program
    .command('web')
    .description('serve the browser app (explain models in the page, nothing uploaded) and open it; or --export it to a folder')
    .option('--port <n>', 'port (0: any free port)', nonNegInt('--port'), 5417)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--no-open', 'do not open a browser')
    .option('--export <dir>', 'write the app to a new folder (any static web server can host it) and exit')
    .action(async (f: WebFlags) => {
      if (f.export) {
        exportApp(f.export);
        process.stdout.write(`wrote the web app to ${f.export}\n`);
        return;
      }
      const root = webAppDir();
      checkBuilt(root);
      const server = await serveFolder(root, f.port, f.host);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : f.port;
      const url = `http://${f.host.includes(':') ? `[${f.host}]` : f.host}:${port}/`;
      process.stdout.write(`relprop web app at ${url} (Ctrl-C stops it)\n`);
      if (f.open) {
        const { default: open } = await import('open');
        await open(url).catch((e: Error) => process.stderr.write(`relprop: could not open a browser (${e.message}); open ${url} yourself\n`));
      }
      process.once('SIGINT', () => server.close(() => process.exit(0)));
    });
}
