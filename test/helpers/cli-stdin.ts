/**
 * Runs the `trawl` CLI as a child process with what test/helpers/cli.ts's spawnCli does not
 * give: text piped to its stdin (for `trawl shell`) and a working directory of the test's choice
 * (for the default output files, which go in the working directory). Same hard timeout and
 * result shape as spawnCli; children still running are SIGKILLed by {@link killCliChildren}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI_MAIN, type CliResult, REPO_ROOT } from './cli.js';

/** Options of {@link runCliWith}. */
export interface RunWithOptions {
  /** Written to the child's stdin, which is then closed. Default: stdin closed at once. */
  input?: string;
  /** Working directory. Default: the repository root. */
  cwd?: string;
  /** Hard timeout in ms (default 30 s): the child is SIGKILLed and `timedOut` set. */
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();

/**
 * Runs `node dist/cli/main.js ...args` (by absolute path, so any working
 * directory works) and resolves with how it ended, stdout and stderr complete.
 */
export function runCliWith(args: readonly string[], opts: RunWithOptions = {}): Promise<CliResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  // A child that exits before reading its input closes the pipe: that is not the test's error.
  child.stdin!.on('error', () => {});
  child.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: performance.now() - started });
    });
  });
}

/** SIGKILLs the children of {@link runCliWith} still running (a failed test's); for `afterEach`. */
export function killCliChildren(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}
