/**
 * Bad usage (issues 3, 4 and 7): every bad invocation or config value exits 2 with exactly one
 * line on stderr naming the problem, before any request reaches the (real, local) test site,
 * and a corrupt or foreign state file is left byte-for-byte as it was. Also --help and --version.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { openState } from '../../src/crawl/state/state-db.js';
import type { TestSite } from '../../src/testsite/server.js';
import {
  type CliResult,
  cleanup,
  REPO_ROOT,
  readJsonl,
  runCli,
  sha256File,
  startSite,
  tempDir,
} from '../helpers/cli.js';

afterAll(cleanup);

/** What a row's functions get: the row's own test site and temp directory. */
interface Ctx {
  site: TestSite;
  url: string;
  dir: string;
  /** The directory of crawl "a" (see stateOfCrawlA), for rows that set it up. */
  a?: string;
}

interface Row {
  name: string;
  args: (c: Ctx) => string[];
  /** Must match the one stderr line (it names the flag or value). */
  error: RegExp;
  /** Prepares files before the run. */
  setup?: (c: Ctx) => Promise<void> | void;
  /** A file that must be byte-for-byte unchanged by the run. */
  untouched?: (c: Ctx) => string;
  /** When set, no -wal/-shm companion may appear next to the untouched file either. */
  noCompanions?: boolean;
  /** Files the refused run must not leave behind. */
  absent?: (c: Ctx) => string[];
}

/** A crawl of the row's site with a valid in-memory setup and output, plus `extra` flags. */
const crawl =
  (...extra: string[]) =>
  (c: Ctx) => ['crawl', c.url, '--no-state', '--out', join(c.dir, 'o.jsonl'), ...extra];

let crawledA: Promise<string> | null = null;

/**
 * Runs, once per file, a real complete crawl named "a" (on a site of its own) and resolves with
 * the directory holding its state (s.db) and output (a.jsonl). Rows only read that state.
 */
function stateOfCrawlA(): Promise<string> {
  crawledA ??= (async () => {
    const dir = tempDir('trawl-usage-a-');
    const other = await startSite({ pages: 2 });
    const r = await runCli([
      'crawl',
      other.url,
      '--rate',
      'inf',
      '--name',
      'a',
      '--state',
      join(dir, 's.db'),
      '--out',
      join(dir, 'a.jsonl'),
      '--quiet',
    ]);
    if (r.code !== 0 || other.total() === 0) throw new Error(`setup crawl "a" failed: ${r.stderr}`);
    return dir;
  })();
  return crawledA;
}

const ROWS: Row[] = [
  // unknown flags and commands
  { name: 'unknown long flag', args: crawl('--bogus'), error: /unknown option '--bogus'/ },
  { name: 'unknown command', args: (c) => ['crawll', c.url], error: /unknown command 'crawll'/ },
  { name: 'flag missing its value', args: crawl('--workers'), error: /--workers <n>.*missing/ },
  // URLs
  { name: 'not a URL', args: () => ['crawl', 'notaurl'], error: /invalid URL: "notaurl"/ },
  { name: 'ftp URL', args: () => ['crawl', 'ftp://x'], error: /not an http\(s\) URL: "ftp:\/\/x"/ },
  { name: 'URL without host', args: () => ['crawl', 'http://'], error: /invalid URL: "http:\/\/"/ },
  {
    name: 'URL with a space in the host',
    args: () => ['crawl', 'http://exa mple.com'],
    error: /invalid URL: "http:\/\/exa mple\.com"/,
  },
  { name: 'no URL at all', args: () => ['crawl', '--no-state'], error: /no start URL/ },
  {
    name: 'a bad second seed',
    args: (c) => ['crawl', c.url, 'javascript:alert(1)', '--no-state'],
    error: /not an http\(s\) URL: "javascript:alert\(1\)"/,
  },
  // numbers
  { name: '--rate -1', args: crawl('--rate', '-1'), error: /--rate .*"-1"/ },
  { name: '--rate abc', args: crawl('--rate', 'abc'), error: /--rate .*"abc"/ },
  { name: '--rate 0', args: crawl('--rate', '0'), error: /--rate .*"0"/ },
  { name: '--burst 0', args: crawl('--burst', '0'), error: /--burst .*0/ },
  { name: '--workers 0', args: crawl('--workers', '0'), error: /--workers .*0/ },
  { name: '--workers 1.5', args: crawl('--workers', '1.5'), error: /--workers .*1\.5/ },
  { name: '--parsers -1', args: crawl('--parsers', '-1'), error: /--parsers .*-1/ },
  { name: '--max-connections 0', args: crawl('--max-connections', '0'), error: /--max-connections .*0/ },
  { name: '--timeout 0', args: crawl('--timeout', '0'), error: /--timeout .*0/ },
  { name: '--timeout 5x', args: crawl('--timeout', '5x'), error: /--timeout.*"5x"/ },
  { name: '--retries -1', args: crawl('--retries', '-1'), error: /--retries .*-1/ },
  { name: '--depth 1000', args: crawl('--depth', '1000'), error: /--depth .*1000/ },
  { name: '--depth -1', args: crawl('--depth', '-1'), error: /--depth .*-1/ },
  { name: '--max-pages 0', args: crawl('--max-pages', '0'), error: /--max-pages .*0/ },
  { name: '--max-pages x', args: crawl('--max-pages', 'x'), error: /--max-pages .*"x"/ },
  { name: '--host-concurrency 0', args: crawl('--host-concurrency', '0'), error: /--host-concurrency .*0/ },
  { name: '--max-url-length 3', args: crawl('--max-url-length', '3'), error: /--max-url-length .*3/ },
  { name: '--max-bytes 10XB', args: crawl('--max-bytes', '10XB'), error: /--max-bytes.*"10XB"/ },
  // choices
  { name: '--scope planet', args: crawl('--scope', 'planet'), error: /--scope.*'planet'/ },
  { name: '--sitemaps maybe', args: crawl('--sitemaps', 'maybe'), error: /--sitemaps.*'maybe'/ },
  // patterns and field specs
  {
    name: '--exclude with an invalid regex',
    args: crawl('--exclude', '/(unclosed/'),
    error: /--exclude.*"\/\(unclosed\/"/,
  },
  {
    name: '--include with an invalid regex',
    args: crawl('--include', '/a[/'),
    error: /--include.*"\/a\[\/"/,
  },
  { name: '--extract without =', args: crawl('--extract', 'noequals'), error: /--extract.*"noequals"/ },
  { name: '--extract without a name', args: crawl('--extract', '=h1'), error: /--extract.*"=h1"/ },
  {
    name: '--extract with a bad selector',
    args: crawl('--extract', 'x=::bad('),
    error: /--extract.*"x=::bad\("/,
  },
  // output
  {
    name: '--out in a missing directory',
    args: (c) => ['crawl', c.url, '--no-state', '--out', '/nonexistent-dir/x.jsonl'],
    error: /\/nonexistent-dir\/x\.jsonl/,
  },
  {
    name: '--out in a missing directory, with a state file',
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 's.db'), '--out', '/nonexistent-dir/x.jsonl'],
    error: /\/nonexistent-dir\/x\.jsonl/,
    absent: (c) => [join(c.dir, 's.db'), join(c.dir, 's.db-wal'), join(c.dir, 's.db-shm')],
  },
  {
    name: '--out with an unknown format',
    args: (c) => ['crawl', c.url, '--no-state', '--out', join(c.dir, 'x.txt')],
    error: /--out.*x\.txt/,
  },
  // state files
  {
    name: '--state is a foreign SQLite database',
    setup: (c) => {
      const db = new Database(join(c.dir, 'foreign.db'));
      db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
      db.close();
    },
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 'foreign.db'), '--out', join(c.dir, 'o.jsonl')],
    error: /foreign\.db is not a trawl state file/,
    untouched: (c) => join(c.dir, 'foreign.db'),
    noCompanions: true,
  },
  {
    name: '--state is random bytes',
    setup: (c) => {
      // Deterministic "random" bytes: a corrupt file, not SQLite at all.
      const buf = Buffer.alloc(8192);
      let x = 0x9e3779b9;
      for (let i = 0; i < buf.length; i++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        buf[i] = x >>> 24;
      }
      writeFileSync(join(c.dir, 'junk.db'), buf);
    },
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 'junk.db'), '--out', join(c.dir, 'o.jsonl')],
    error: /junk\.db is not a trawl state file/,
    untouched: (c) => join(c.dir, 'junk.db'),
    noCompanions: true,
  },
  {
    name: '--state written by a newer trawl',
    setup: (c) => {
      const path = join(c.dir, 'new.db');
      openState(path, { create: true, name: 'newer', seeds: [c.url] }).close();
      const db = new Database(path);
      db.pragma('user_version = 99');
      db.pragma('journal_mode = DELETE'); // fold the WAL in: the header alone tells the version
      db.close();
    },
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 'new.db'), '--out', join(c.dir, 'o.jsonl')],
    error: /new\.db was written by a newer trawl/,
    untouched: (c) => join(c.dir, 'new.db'),
    noCompanions: true,
  },
  {
    name: '--state of another crawl (--name a, then --name b)',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => [
      'crawl',
      c.url,
      '--name',
      'b',
      '--state',
      join(c.a!, 's.db'),
      '--out',
      join(c.dir, 'b.jsonl'),
    ],
    error: /s\.db belongs to crawl "a", not "b"/,
    untouched: (c) => join(c.a!, 's.db'),
  },
  {
    name: '--out other than the one the state writes',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => [
      'crawl',
      c.url,
      '--name',
      'a',
      '--state',
      join(c.a!, 's.db'),
      '--out',
      join(c.dir, 'other.jsonl'),
    ],
    error: /writes its records to .*a\.jsonl/,
    untouched: (c) => join(c.a!, 's.db'),
  },
  // issue 10 §6: output and state paths, one rule for both (the directory must exist)
  {
    name: '--state in a missing directory (nothing is created)',
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 'missing', 'x.db'), '--out', join(c.dir, 'o.jsonl')],
    error: /--state .*x\.db: directory .*missing does not exist/,
    absent: (c) => [join(c.dir, 'missing')],
  },
  {
    name: '--out is the state file of another crawl',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => ['crawl', c.url, '--no-state', '--out', join(c.a!, 's.db')],
    error: /--out .*s\.db is a trawl state file/,
    untouched: (c) => join(c.a!, 's.db'),
  },
  {
    name: '--out equal to --state',
    args: (c) => ['crawl', c.url, '--state', join(c.dir, 'same.db'), '--out', join(c.dir, 'same.db')],
    error: /--out .*same\.db is the state file/,
    absent: (c) => [join(c.dir, 'same.db')],
  },
  {
    name: 'export --out onto a trawl state file',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => ['export', join(c.a!, 's.db'), '--out', join(c.a!, 's.db')],
    error: /--out .*s\.db is the state file/,
    untouched: (c) => join(c.a!, 's.db'),
  },
  // issue 10 §6: a seed longer than the trap guard's URL length
  {
    name: 'a 100,000-character seed',
    args: (c) => ['crawl', `${c.url}${'a'.repeat(100_000)}`, '--no-state', '--out', join(c.dir, 'o.jsonl')],
    error:
      /seed "http:\/\/127\.0\.0\.1:\d+\/a+\.\.\." is 100\d{3} characters long, over --max-url-length 2048/,
  },
  {
    name: 'a seed over --max-url-length 40',
    args: (c) => [...crawl('--max-url-length', '40')(c), `${c.url}${'b'.repeat(30)}`],
    error: /seed ".*b{30}" is \d+ characters long, over --max-url-length 40/,
  },
  {
    name: 'a --sitemap URL over --max-url-length',
    args: (c) => crawl('--max-url-length', '40', '--sitemap', `${c.url}${'s'.repeat(40)}.xml`)(c),
    error: /sitemap ".*s{40}\.xml" is \d+ characters long, over --max-url-length 40/,
  },
  // issue 10 §6: a single-value flag given twice is ambiguous
  {
    name: '--rate 5 --rate 10',
    args: crawl('--rate', '5', '--rate', '10'),
    error: /option '--rate' given twice/,
  },
  {
    name: '--out given twice',
    args: (c) => [...crawl()(c), '--out', join(c.dir, 'p.jsonl')],
    error: /option '--out' given twice/,
  },
  {
    name: '--scope host --scope any',
    args: crawl('--scope', 'host', '--scope', 'any'),
    error: /option '--scope' given twice/,
  },
  {
    name: '--state and --no-state together',
    args: (c) => [
      'crawl',
      c.url,
      '--state',
      join(c.dir, 's.db'),
      '--no-state',
      '--out',
      join(c.dir, 'o.jsonl'),
    ],
    error: /'--state' and '--no-state' conflict/,
  },
  {
    name: 'export --out given twice',
    args: (c) => [
      'export',
      join(c.dir, 's.db'),
      '--out',
      join(c.dir, 'a.jsonl'),
      '--out',
      join(c.dir, 'b.jsonl'),
    ],
    error: /option '--out' given twice/,
  },
  // issue 10 §6: Redis-only flags need --redis
  {
    name: '--lease-ttl without --redis',
    args: crawl('--lease-ttl', '5s'),
    error: /--lease-ttl needs --redis/,
  },
  { name: '--wait on trawl crawl', args: crawl('--wait', '5s'), error: /unknown option '--wait'/ },
  {
    name: 'export --name without --redis',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => ['export', join(c.a!, 's.db'), '--out', join(c.dir, 'x.jsonl'), '--name', 'a'],
    error: /--name needs --redis/,
  },
  // conflicting or empty values
  {
    name: '--fresh --no-state',
    args: (c) => ['crawl', c.url, '--fresh', '--no-state'],
    error: /--fresh and --no-state/,
  },
  {
    name: '--retry-failed --no-state',
    args: (c) => ['crawl', c.url, '--retry-failed', '--no-state'],
    error: /--retry-failed/,
  },
  { name: "--user-agent ''", args: crawl('--user-agent', ''), error: /--user-agent/ },
  { name: "--name 'bad name!'", args: crawl('--name', 'bad name!'), error: /--name .*"bad name!"/ },
  // the other commands
  { name: 'worker without --redis', args: () => ['worker', '--name', 'w'], error: /--redis/ },
  {
    name: 'status of a foreign file',
    setup: (c) => writeFileSync(join(c.dir, 'x.db'), 'not a database at all, just text\n'.repeat(10)),
    args: (c) => ['status', join(c.dir, 'x.db')],
    error: /x\.db is not a trawl state file/,
    untouched: (c) => join(c.dir, 'x.db'),
    noCompanions: true,
  },
  // issue 14: recrawl, WARC and cache
  {
    name: '--recrawl --no-state',
    args: (c) => ['crawl', c.url, '--recrawl', '--no-state'],
    error: /--recrawl needs a state file/,
  },
  {
    name: '--recrawl of a state that does not exist',
    args: (c) => [
      'crawl',
      c.url,
      '--state',
      join(c.dir, 's.db'),
      '--recrawl',
      '--out',
      join(c.dir, 'o.jsonl'),
    ],
    error: /--recrawl: .*s\.db is not an existing trawl state file/,
    absent: (c) => [join(c.dir, 's.db')],
  },
  {
    name: '--recrawl-after -1',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => ['crawl', c.url, '--state', join(c.a!, 's.db'), '--recrawl', '--recrawl-after', '-1'],
    error: /--recrawl-after/,
  },
  {
    name: '--changed-only without --recrawl',
    args: crawl('--changed-only'),
    error: /--changed-only needs --recrawl/,
  },
  {
    name: '--warc into a missing directory',
    args: (c) => crawl('--warc', join(c.dir, 'nope', 'x.warc.gz'))(c),
    error: /--warc .*directory .*nope does not exist/,
  },
  {
    name: '--warc under a file',
    setup: (c) => writeFileSync(join(c.dir, 'f'), 'x'),
    args: (c) => crawl('--warc', join(c.dir, 'f', 'x.warc.gz'))(c),
    error: /--warc .*is not a directory/,
  },
  {
    name: '--warc with another extension',
    args: (c) => crawl('--warc', join(c.dir, 'x.zip'))(c),
    error: /--warc .*x\.zip: the file name must end in \.warc\.gz/,
  },
  {
    name: '--cache on a file',
    setup: (c) => writeFileSync(join(c.dir, 'cachefile'), 'x'),
    args: (c) => crawl('--cache', join(c.dir, 'cachefile'))(c),
    error: /--cache .*cachefile is a file, not a directory/,
    untouched: (c) => join(c.dir, 'cachefile'),
  },
  {
    name: '--cache-mode unknown',
    args: (c) => crawl('--cache', join(c.dir, 'cache'), '--cache-mode', 'forever')(c),
    error: /--cache-mode/,
  },
  {
    name: 'export to an unknown format',
    setup: async (c) => {
      c.a = await stateOfCrawlA();
    },
    args: (c) => ['export', join(c.a!, 's.db'), '--out', join(c.dir, 'x.json')],
    error: /x\.json/,
  },
];

describe('bad usage exits 2 with one line, before any request', () => {
  it('has a table of at least 30 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ROWS.map((r) => r.name)).size).toBe(ROWS.length);
  });

  it.concurrent.for(ROWS)('$name', async (row, { expect }) => {
    const site = await startSite({ pages: 1 });
    const c: Ctx = { site, url: site.url, dir: tempDir('trawl-usage-') };
    await row.setup?.(c);
    site.reset(); // setups may crawl other sites, never this one; start the count at 0 anyway
    const guarded = row.untouched?.(c);
    const before = guarded === undefined ? null : sha256File(guarded);
    const args = row.args(c);
    // The hard timeout only catches a hang: on a loaded 2-core machine five concurrent children
    // can each take well over 20 s to start.
    const r = await runCli(args, { timeoutMs: 50_000 });
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    const shown = `trawl ${args.join(' ')}\nstderr:\n${r.stderr}`;
    expect(r.timedOut, shown).toBe(false);
    expect(r.code, shown).toBe(2);
    expect(lines, shown).toHaveLength(1);
    expect(lines[0], shown).toMatch(/^trawl: /);
    expect(lines[0], shown).toMatch(row.error);
    expect(lines[0], shown).not.toMatch(/^\s+at /m); // no stack trace
    expect(r.stdout, shown).toBe('');
    expect(site.total(), `${shown}\nrequests were made`).toBe(0);
    for (const f of row.absent?.(c) ?? []) expect(existsSync(f), `${f} was left behind`).toBe(false);
    if (guarded !== undefined) {
      expect(sha256File(guarded), `${guarded} was modified`).toBe(before);
      if (row.noCompanions) {
        expect(existsSync(`${guarded}-wal`)).toBe(false);
        expect(existsSync(`${guarded}-shm`)).toBe(false);
      }
    }
  });
});

/** The option entries of a --help text: each entry's lines joined, keyed by its flags. */
function helpOptions(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  const start = help.indexOf('\nOptions:\n');
  if (start < 0) return entries;
  let current: string | null = null;
  for (const line of help.slice(start + 10).split('\n')) {
    if (line.trim() === '' || /^\S/.test(line)) break; // the next section
    const m = /^ {2}(-\S.*?)(?: {2,}|$)/.exec(line);
    if (m) {
      current = m[1]!;
      entries.set(current, line.trim());
    } else if (current !== null) {
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    }
  }
  return entries;
}

describe('refusing repeated flags leaves repeatable ones alone', () => {
  it('--include, --exclude, --extract and seeds repeat; a value-less flag may be doubled', async () => {
    const site = await startSite({ pages: 6 });
    const dir = tempDir('trawl-usage-repeat-');
    const out = join(dir, 'o.jsonl');
    const r = await runCli(
      [
        'crawl',
        site.url,
        site.pageUrl(1),
        '--no-state',
        '--out',
        out,
        '--rate',
        'inf',
        '--depth',
        '0',
        '--include',
        '**',
        '--include',
        '/never/',
        '--exclude',
        '/nothing-a/',
        '--exclude',
        '/nothing-b/',
        '--extract',
        'h=h1',
        '--extract',
        't=title',
        '--quiet',
        '--quiet',
      ],
      { timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const { records } = readJsonl(out);
    expect(records.map((x) => x.url).sort()).toEqual([site.url, site.pageUrl(1)].sort());
    // Both --extract fields are there: the second did not replace the first.
    for (const rec of records) expect(Object.keys(rec.fields as object).sort()).toEqual(['h', 't']);
  });
});

describe('--help and --version', () => {
  const program = buildProgram(() => {});
  const commands = program.commands.filter((c) => c.name() !== 'help');
  const helps = new Map<string, Promise<CliResult>>();
  /** `trawl <name> --help`, run once per command. */
  const help = (name: string) => {
    let r = helps.get(name);
    if (r === undefined) {
      r = runCli([name, '--help']);
      helps.set(name, r);
    }
    return r;
  };

  it('has the commands of the issues', () => {
    expect(commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(['crawl', 'demo', 'export', 'serve-demo', 'status']),
    );
  });

  it.concurrent.for(commands.map((c) => c.name()))(
    '%s --help shows every option with its default',
    async (name, { expect }) => {
      const cmd = commands.find((c) => c.name() === name)!;
      const r = await help(name);
      expect(r.timedOut).toBe(false);
      expect(r.code, r.stderr).toBe(0);
      const shown = helpOptions(r.stdout);
      const missing: string[] = [];
      const noDefault: string[] = [];
      for (const opt of cmd.options) {
        const entry = [...shown.entries()].find(([flags]) => flags.startsWith(opt.flags))?.[1];
        if (entry === undefined) missing.push(opt.flags);
        else if (!/default|required/i.test(entry)) noDefault.push(entry);
      }
      expect(missing, `${name} --help lacks options:\n${r.stdout}`).toEqual([]);
      expect(noDefault, `${name} --help: options that show no default`).toEqual([]);
      expect(shown.size).toBe(cmd.options.length + 1); // + -h, --help
    },
  );

  it("crawl --help shows the seed's defaults", async () => {
    const r = await help('crawl');
    expect(r.code).toBe(0);
    const o = helpOptions(r.stdout);
    const entry = (flag: string) => [...o.entries()].find(([f]) => f.startsWith(flag))?.[1] ?? '';
    expect(entry('--workers')).toMatch(/default: "5"/);
    expect(entry('--rate')).toMatch(/default: "10"/);
    expect(entry('--burst')).toMatch(/default: "5"/);
    expect(entry('--max-connections')).toMatch(/default: "20"/);
    expect(entry('--timeout')).toMatch(/default: "5s"/);
    expect(entry('--retries')).toMatch(/default: "3"/);
    expect(entry('--host-concurrency')).toMatch(/default: "8"/);
    expect(entry('--max-bytes')).toMatch(/default: "10MB"/);
    expect(entry('--max-url-length')).toMatch(/default: "2048"/);
  });

  it('top-level --help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toMatch(new RegExp(`^ {2}${c.name()} `, 'm'));
  });

  it('--version and -V print the package version', async () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
      expect(r.stderr).toBe('');
    }
  });
});
