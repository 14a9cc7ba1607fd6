import { UsageError } from '../../crawl/options.js';
import { exportState } from '../../crawl/state/export.js';
import { formatStatus, readStatus } from '../../crawl/state/status.js';
import { storagePathProblem } from '../../crawl/storage-paths.js';

/** `trawl status <state>`: prints progress (done, queued, failed, per host); works while the crawl runs. */
export function runStatus(statePath: string, flags: { json: boolean }): number {
  const status = readStatus(statePath);
  process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
  return 0;
}

/**
 * `trawl export <state> --out FILE`: writes every stored record as JSONL, CSV or SQLite. The
 * output must go in an existing directory and be neither the state file itself nor any other
 * trawl state file (a UsageError, exit 2, before anything is written).
 */
export function runExport(statePath: string, flags: { out: string }): number {
  const problem = storagePathProblem({ out: flags.out, state: statePath });
  if (problem !== null) throw new UsageError(problem);
  const mark = exportState(statePath, flags.out);
  process.stderr.write(`trawl: exported ${statePath} to ${mark.path}\n`);
  return 0;
}
