import { spawn } from 'node:child_process';

/**
 * Runs `code` as an ES module in a fresh Node (TypeScript through tsx), with `prelude` (imports)
 * before it, and resolves with its stdout lines (trimmed) and exit code. For tests of what keeps a
 * process alive: the 20 s guard is far above the ~1 s a run takes, so only a process held open by
 * a long timer reaches it — it is then killed and the exit code is null.
 */
export function runNode(prelude: string, code: string): Promise<{ out: string[]; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `${prelude}\n${code}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const guard = setTimeout(() => p.kill(), 20_000);
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(guard);
      resolve({ out: out.trim().split('\n'), code });
    });
  });
}
