import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CrawlOptions } from './crawl-options.js';
import { CACHE_MODES } from './fetch/http-cache.js';
import { directoryProblem, isTrawlStateFile } from './storage-paths.js';
import { UsageError } from './usage-error.js';

/** The file names `--warc` accepts: gzip members per record, or plain records. */
const WARC_EXTENSIONS = ['.warc.gz', '.warc'];

/**
 * Checks the recrawl, WARC and cache options (see CrawlOptions) before anything is opened, throwing
 * a UsageError whose one line names the flag: `--recrawl` needs an existing state file (unless
 * `keepVersions`: the distributed mode checks its crawl in Redis) and contradicts `--fresh`; `--recrawl-after` is a duration ≥ 0 or `auto` and, like
 * `--changed-only`, needs `--recrawl`; `--warc` and `--warc-dir` exclude each other, the file
 * ends in `.warc.gz` or `.warc` and goes in an existing, writable directory; `--warc-dir` and
 * `--cache` are directories (created if missing, in an existing writable parent), not files;
 * `--cache-mode` is one of CACHE_MODES and needs `--cache`. Looks at the file system only.
 */
export function checkArchiveOptions(o: CrawlOptions): void {
  if (o.recrawl === true && o.keepVersions !== true) {
    if (o.state === undefined)
      throw new UsageError(
        '--recrawl needs --state: the pages to crawl again are the ones a state file holds',
      );
    if (o.fresh)
      throw new UsageError('--recrawl and --fresh contradict each other: a recrawl keeps the state');
    if (!isTrawlStateFile(o.state))
      throw new UsageError(`--recrawl: ${o.state} is not an existing trawl state file (crawl it first)`);
  }
  const after = o.recrawlAfter;
  if (after !== undefined) {
    if (after !== 'auto' && !(typeof after === 'number' && Number.isFinite(after) && after >= 0))
      throw new UsageError(`--recrawl-after must be a duration of 0 or more, or auto (got ${String(after)})`);
    if (o.recrawl !== true) throw new UsageError('--recrawl-after needs --recrawl');
  }
  if (o.changedOnly === true && o.recrawl !== true) throw new UsageError('--changed-only needs --recrawl');
  if (o.warc !== undefined && o.warcDir !== undefined)
    throw new UsageError(
      '--warc and --warc-dir exclude each other: one file, or a directory of rotated files',
    );
  if (o.warc !== undefined) {
    if (!WARC_EXTENSIONS.some((ext) => o.warc!.endsWith(ext)))
      throw new UsageError(
        `--warc ${o.warc}: the file name must end in .warc.gz (or .warc for uncompressed records)`,
      );
    const problem =
      directoryProblem('warc', o.warc) ?? writableProblem('warc', o.warc, dirname(resolve(o.warc)));
    if (problem !== null) throw new UsageError(problem);
    if (isDirectory(o.warc)) throw new UsageError(`--warc ${o.warc} is a directory (use --warc-dir for one)`);
  }
  if (o.warcMaxSize !== undefined) {
    if (!Number.isSafeInteger(o.warcMaxSize) || o.warcMaxSize < 1)
      throw new UsageError(`--warc-max-size must be a positive size (got ${o.warcMaxSize})`);
    if (o.warcDir === undefined) throw new UsageError('--warc-max-size needs --warc-dir');
  }
  if (o.warcDir !== undefined) folderProblem('warc-dir', o.warcDir);
  if (o.cache !== undefined) folderProblem('cache', o.cache);
  if (o.cacheMode !== undefined) {
    if (!(CACHE_MODES as readonly string[]).includes(o.cacheMode))
      throw new UsageError(
        `--cache-mode must be replay, refresh or rfc9111 (got ${JSON.stringify(o.cacheMode)})`,
      );
    if (o.cache === undefined) throw new UsageError('--cache-mode needs --cache');
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A directory flag's path: an existing writable directory, or a missing one in an existing writable parent. */
function folderProblem(flag: string, path: string): void {
  let exists = false;
  try {
    const st = statSync(path);
    if (!st.isDirectory()) throw new UsageError(`--${flag} ${path} is a file, not a directory`);
    exists = true;
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  const problem = exists
    ? writableProblem(flag, path, path)
    : (directoryProblem(flag, path) ?? writableProblem(flag, path, dirname(resolve(path))));
  if (problem !== null) throw new UsageError(problem);
}

function writableProblem(flag: string, path: string, dir: string): string | null {
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch {
    return `--${flag} ${path}: directory ${dir} is not writable`;
  }
}
