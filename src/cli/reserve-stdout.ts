/**
 * Keeps stdout for the data written to it (`--out -`, `--items -`): from now on everything
 * written through the `process.stdout` stream — `console.log` in a scraper's handler, on the main
 * thread or on a parse thread (a worker thread's output is piped into it), or in any library —
 * goes to stderr instead, so that `trawl … --items - | jq` never sees a stray line. The records
 * and items themselves are unaffected: the stdout sink writes to file descriptor 1 directly
 * (store/stdout-output.ts), not through the stream. Idempotent; lasts for the process's life
 * (the CLI runs one crawl per process).
 */
export function reserveStdout(): void {
  if (reserved) return;
  reserved = true;
  const toStderr = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
  process.stdout.write = ((...args: unknown[]) => toStderr(...args)) as typeof process.stdout.write;
}

let reserved = false;
