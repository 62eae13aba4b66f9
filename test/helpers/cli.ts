/** Run the built `relprop` CLI (dist/) as a user does; never throws, returns exit code and output. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'src', 'node', 'cli', 'main.js');
const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function relprop(args: string[], input?: string): Promise<CliResult> {
  try {
    const p = run('node', [CLI, ...args], { maxBuffer: 1 << 24 });
    if (input !== undefined) p.child.stdin!.end(input);
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as CliResult;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
