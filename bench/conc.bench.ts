// `npm run bench`: runs every trawl/conc benchmark in bench/conc/, one process each (so one
// benchmark's heap and JIT state can't skew the next), with --expose-gc for the memory checks.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./conc/', import.meta.url));
const only = process.argv[2];
let failed = 0;
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  if (only && !file.includes(only)) continue;
  process.stdout.write(`\n## ${file}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${dir}${file}`], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
