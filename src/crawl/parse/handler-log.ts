import { format } from 'node:util';
import type { HandlerLog } from './scraper.js';

/**
 * The `log` of a handler for the page `url` with `label`: each call writes one line to stderr,
 * `<level> [<label>] <url>: <message>` (message formatted like console.log, newlines shown as
 * `\n` so one call is one line). `debug` writes only when TRAWL_DEBUG is set and non-empty.
 */
export function handlerLog(label: string | null, url: string): HandlerLog {
  const line =
    (level: string) =>
    (...args: unknown[]): void => {
      const msg = format(...args).replace(/\r?\n/g, '\\n');
      process.stderr.write(`${level} [${label ?? 'default'}] ${url}: ${msg}\n`);
    };
  const debugOn = (process.env.TRAWL_DEBUG ?? '') !== '';
  return {
    debug: debugOn ? line('debug') : () => {},
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
}
