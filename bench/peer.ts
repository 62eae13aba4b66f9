/**
 * Peer scripts (NumPy, POT, PyTorch) run in one long-lived Python process per environment,
 * started before a bench allocates anything large, instead of a new process per round.
 *
 * Why: spawning a process forks Node, and a fork marks every page Node has written copy-on-write.
 * The next write to each page then faults once; where page faults are slow (on the 2-vCPU
 * Firecracker machines relprop is measured on, re-touching 200 MB after spawning /bin/true took
 * about 0.63 s against 1.5 ms without the spawn), relprop's next timed run paid for all the memory
 * its sessions hold, a cost of the bench's own spawns that no user pays.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SERVER = join(import.meta.dirname, '..', '..', 'bench', 'peer.py');

interface Reply {
  code: number;
  stdout: string;
  error: string;
}

export class Peer {
  private readonly waiting: ((r: Reply | Error) => void)[] = [];
  private stderr = '';
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        this.stderr = `${this.stderr}${line}\n`.slice(-4000); // a library writing to fd 1 itself
        return;
      }
      this.waiting.shift()?.(reply);
    });
    // A peer that could not start reports through 'error' and 'exit'; its closed stdin must not throw.
    child.stdin.on('error', () => {});
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w(new Error(`the Python peer exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}`));
    });
    child.on('error', (e) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w(e);
    });
  }

  /** Starts `python bench/peer.py` with `env` (thread counts are read once, at import). */
  static start(python: string, env: NodeJS.ProcessEnv = process.env): Peer {
    return new Peer(spawn(python, [SERVER], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Runs `script` with `args` as __main__ in the peer; resolves to what it printed, rejects if it failed. */
  run(script: string, args: string[]): Promise<string> {
    if (this.exited) return Promise.reject(new Error(`the Python peer is not running: ${this.stderr.trim().split('\n').pop() ?? ''}`));
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => {
        if (r instanceof Error) reject(r);
        else if (r.code !== 0 || r.error) reject(new Error(`${script} failed (${r.code}): ${(r.error || r.stdout).trim().split('\n').pop() ?? ''}`));
        else resolve(r.stdout);
      });
      this.child.stdin.write(`${JSON.stringify({ script, argv: args })}\n`);
    });
  }

  /** The last line the script printed, parsed as JSON. */
  async json<T>(script: string, args: string[]): Promise<T> {
    return JSON.parse((await this.run(script, args)).trim().split('\n').pop() ?? '') as T;
  }

  close(): void {
    this.child.stdin.end();
  }
}

const pool = new Map<string, Peer>();

/**
 * The peer for `threads` (OPENBLAS/OMP/MKL_NUM_THREADS set), started on first use: call it for
 * every thread count a bench uses before allocating anything large. closePeers() ends them.
 */
export function peerFor(python: string, threads: number): Peer {
  const key = `${python}\u0000${threads}`;
  let p = pool.get(key);
  if (!p) {
    const t = String(threads);
    p = Peer.start(python, { ...process.env, OPENBLAS_NUM_THREADS: t, OMP_NUM_THREADS: t, MKL_NUM_THREADS: t });
    pool.set(key, p);
  }
  return p;
}

export function closePeers(): void {
  for (const p of pool.values()) p.close();
  pool.clear();
}
