import { UsageError } from '../../crawl/options.js';
import { exportCdxj, exportItems, exportState } from '../../crawl/state/export.js';
import { formatStatus, readStatus } from '../../crawl/state/status.js';
import { storagePathProblem } from '../../crawl/storage-paths.js';

/** `trawl status <state>`: prints progress (done, queued, failed, per host); works while the crawl runs. */
export function runStatus(statePath: string, flags: { json: boolean }): number {
  const status = readStatus(statePath);
  process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
  return 0;
}

/**
 * `trawl export <state> [--out FILE] [--items FILE]`: writes every stored record (JSONL, CSV or
 * SQLite) — or, for an `--out` ending in `.cdxj`, the CDXJ index of the crawl's WARC files — and/or
 * every stored item of a scraper crawl. The outputs must go in existing
 * directories and be neither the state file, another trawl state file, nor each other (a
 * UsageError, exit 2, before anything is written).
 */
export function runExport(statePath: string, flags: { out?: string; items?: string }): number {
  const problem = storagePathProblem({ out: flags.out, items: flags.items, state: statePath });
  if (problem !== null) throw new UsageError(problem);
  if (flags.out?.endsWith('.cdxj')) {
    const n = exportCdxj(statePath, flags.out);
    process.stderr.write(`trawl: indexed the WARC files of ${statePath} in ${flags.out} (${n} captures)\n`);
  } else if (flags.out !== undefined) {
    const mark = exportState(statePath, flags.out);
    process.stderr.write(`trawl: exported ${statePath} to ${mark.path}\n`);
  }
  if (flags.items !== undefined) {
    const mark = exportItems(statePath, flags.items);
    process.stderr.write(`trawl: exported the items of ${statePath} to ${mark.path}\n`);
  }
  return 0;
}
