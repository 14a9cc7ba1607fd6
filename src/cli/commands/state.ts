import { formatStatus, readStatus } from '../../crawl/state/status.js';
import { exportState } from '../../crawl/store/export.js';

/** `trawl status <state>`: prints progress (done, queued, failed, per host); works while the crawl runs. */
export function runStatus(statePath: string, flags: { json: boolean }): number {
  const status = readStatus(statePath);
  process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
  return 0;
}

/** `trawl export <state> --out FILE`: writes every stored record as JSONL or CSV. */
export function runExport(statePath: string, flags: { out: string }): number {
  const mark = exportState(statePath, flags.out);
  process.stderr.write(`trawl: exported ${statePath} to ${mark.path}\n`);
  return 0;
}
