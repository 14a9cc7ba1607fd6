import { start as startRepl } from 'node:repl';
import { headerProblem } from '../../crawl/fetch/header-rules.js';
import { DEFAULTS } from '../../crawl/options.js';
import { UsageError } from '../../crawl/usage-error.js';
import { PacedReplInput } from '../paced-repl-input.js';
import { parseDuration, parseSize } from '../parse-values.js';
import { parseHeaderFlags } from '../session-flags.js';
import { fetchShellPage, type ShellFetchOptions, type ShellPage } from '../shell-page.js';

/** The raw values commander collects for `trawl shell`. */
export interface ShellFlagValues {
  userAgent: string;
  timeout: string;
  maxBytes: string;
  header: string[];
  allowPrivate: boolean;
}

/**
 * `trawl shell URL`: fetches one page as a crawl would (see fetchShellPage) and opens a Node REPL
 * with `$` (cheerio over the page), `request` ({url, method}), `response` ({url, status,
 * headers}), `html` bound, and `fetch(url)`, which loads another page (relative to the current
 * one) and rebinds all four — `await fetch('/next')`. A short banner goes to stderr; the REPL
 * reads stdin and prints to stdout. Interactive on a terminal; with piped stdin the lines run one
 * after another, each awaited (see PacedReplInput), with no prompt, so `echo "\$('h1').text()" |
 * trawl shell URL` prints just the result. A first fetch that fails is reported on stderr and
 * the REPL opens anyway, with `request` bound and the others undefined, so `fetch` can try
 * again. Bad flags or a URL that is not http(s) are a UsageError (exit 2, before any request).
 * Resolves with 0 when the REPL exits (end of input, `.exit`, Ctrl-D).
 */
export async function runShell(url: string, flags: ShellFlagValues): Promise<number> {
  const opts = shellOptions(flags);
  checkUrl(url);
  const bindings: Record<string, unknown> = {};
  const bind = (page: ShellPage | null, requested: string) => {
    bindings.request = page?.request ?? { url: requested, method: 'GET' };
    bindings.response = page?.response;
    bindings.html = page?.html;
    bindings.$ = page?.$;
  };
  let first: ShellPage | null = null;
  try {
    first = await fetchShellPage(url, opts);
  } catch (err) {
    process.stderr.write(`trawl shell: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  bind(first, url);
  if (first) process.stderr.write(`${describe(first)}\n`);
  process.stderr.write(BANNER);

  const interactive = process.stdin.isTTY === true;
  const paced = interactive ? null : new PacedReplInput(process.stdin);
  const server = startRepl({
    prompt: interactive ? 'trawl> ' : '',
    input: paced?.input ?? process.stdin,
    output: process.stdout,
    terminal: interactive,
    useGlobal: false,
  });
  const context = server.context as Record<string, unknown>;
  // Getters, so that a rebinding by fetch() is seen by every later line.
  for (const name of ['$', 'request', 'response', 'html']) {
    Object.defineProperty(context, name, {
      configurable: true,
      enumerable: true,
      get: () => bindings[name],
      set: (v: unknown) => {
        bindings[name] = v;
      },
    });
  }
  context.fetch = async (next: string): Promise<ShellPage['response']> => {
    const base = (bindings.response as ShellPage['response'] | undefined)?.url ?? url;
    const target = resolveUrl(next, base);
    const page = await fetchShellPage(target, opts);
    bind(page, target);
    process.stderr.write(`${describe(page)}\n`);
    return page.response;
  };
  paced?.attach(server);
  await new Promise<void>((resolve) => server.once('exit', resolve));
  return 0;
}

const BANNER = `bound: $ (cheerio, e.g. $('h1').text()), request {url, method}, response {url, status, headers}, html
       await fetch(url) loads another page (relative to this one) and rebinds them; .exit or Ctrl-D quits
`;

/** One line on a fetched page: status, final URL, size and type. */
function describe(page: ShellPage): string {
  const moved = page.response.url === page.request.url ? '' : ` -> ${page.response.url}`;
  return `trawl shell: GET ${page.request.url}${moved}: ${page.response.status}, ${page.bytes} bytes${page.mime ? `, ${page.mime}` : ''}`;
}

/** The shell's flags as fetch options; a bad value is a UsageError naming the flag. */
function shellOptions(flags: ShellFlagValues): ShellFetchOptions {
  const timeoutMs = parseDuration('timeout', flags.timeout);
  if (!(timeoutMs >= 1)) throw new UsageError(`--timeout must be at least 1ms (got ${flags.timeout})`);
  const maxBytes = parseSize('max-bytes', flags.maxBytes);
  if (!(maxBytes >= 1)) throw new UsageError(`--max-bytes must be at least 1 byte (got ${flags.maxBytes})`);
  const userAgent = flags.userAgent ?? DEFAULTS.userAgent;
  if (userAgent.trim() === '' || /[\r\n]/.test(userAgent))
    throw new UsageError('--user-agent must be a non-empty single line');
  return {
    userAgent,
    timeoutMs,
    maxBytes,
    headers: parseHeaders(flags.header),
    allowPrivate: flags.allowPrivate,
  };
}

/**
 * Parses `--header 'Name: value'` flags as `trawl crawl` does (parseHeaderFlags: each name
 * once, case-insensitively) and refuses the names and values a crawl refuses (headerProblem).
 * No message quotes a flag's text or a header value: a malformed `--header` is often a
 * mistyped `Authorization` or `Cookie` line.
 */
function parseHeaders(specs: readonly string[]): Record<string, string> {
  const headers = parseHeaderFlags(specs);
  for (const [name, value] of Object.entries(headers)) {
    const problem = headerProblem(name, value);
    if (problem !== null) throw new UsageError(`--header: ${problem}`);
  }
  return headers;
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`invalid URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`not an http(s) URL: ${JSON.stringify(url)}`);
}

/** `next` resolved against `base`; must be http(s) (a TypeError, shown by the REPL, otherwise). */
function resolveUrl(next: string, base: string): string {
  let u: URL;
  try {
    u = new URL(String(next), base);
  } catch {
    throw new TypeError(`fetch: invalid URL ${JSON.stringify(next)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new TypeError(`fetch: not an http(s) URL ${JSON.stringify(next)}`);
  u.hash = '';
  return u.href;
}
