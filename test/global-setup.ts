/**
 * Runs once before the test files: makes sure dist/ is built from the current sources, so the
 * CLI tests can spawn the compiled CLI (`node dist/cli/main.js`, as users run it) instead of
 * transpiling every child through tsx. Skips the build when the stamp written after the last
 * build is newer than every file it depends on (src/, package.json, tsconfig*.json).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const stamp = join(root, 'dist', '.built-from-sources');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs; // a deleted file changes its directory's mtime
  for (const name of readdirSync(path)) max = Math.max(max, newestMtime(join(path, name)));
  return max;
}

export default function setup(): void {
  const inputs = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'].map((p) => join(root, p));
  const newest = Math.max(...inputs.filter((p) => existsSync(p)).map(newestMtime));
  if (existsSync(stamp) && existsSync(join(root, 'dist/cli/main.js')) && statSync(stamp).mtimeMs >= newest)
    return;
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
