import { Command, CommanderError } from 'commander';
import { DEFAULTS, UsageError } from '../crawl/options.js';
import { VERSION } from '../version.js';
import type { RunFlagValues } from './commands/run.js';
import type { ShellFlagValues } from './commands/shell.js';
import type { WorkerFlagValues } from './commands/worker.js';
import { addCrawlFlags, addRedisFlags, type CrawlFlagValues, type RedisFlagValues } from './crawl-flags.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { failureOf } from './failure.js';
import { refuseRepeatedOptions, repeatable } from './repeated-options.js';

// Commands load their modules (the crawler, undici, SQLite, ioredis, the dashboard) only when they
// run: `--help`, `--version` and refused usage stay fast.
const commands = {
  crawl: () => import('./commands/crawl.js'),
  run: () => import('./commands/run.js'),
  shell: () => import('./commands/shell.js'),
  demo: () => import('./commands/demo.js'),
  state: () => import('./commands/state.js'),
  status: () => import('./commands/status.js'),
  worker: () => import('./commands/worker.js'),
  dashboard: () => import('./commands/dashboard.js'),
};

/** Builds the `trawl` command tree. Exposed for tests; `main` runs it. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('trawl')
    .description('A fast, polite, resumable concurrent web crawler')
    .version(VERSION, '-V, --version')
    .showHelpAfterError(false)
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    // Commander's errors may span lines ("(Did you mean crawl?)"); bad usage is one line.
    .configureOutput({
      writeErr: (s) =>
        process.stderr.write(s.startsWith('error:') ? `trawl: ${s.trim().replace(/\s*\n\s*/g, ' ')}\n` : s),
    });

  addRedisFlags(
    addCrawlFlags(
      program
        .command('crawl')
        .description('crawl from one or more start URLs')
        .addHelpText('after', EXIT_CODES_HELP)
        .argument('[url...]', 'start URLs (http or https)'),
    ),
  ).action(async (urls: string[], flags: CrawlFlagValues & RedisFlagValues) =>
    setExit(await (await commands.crawl()).runCrawl(urls, flags)),
  );

  addRedisFlags(
    addCrawlFlags(
      program
        .command('run')
        .description('run a scraper module (its handlers, start URLs and options) and write its items')
        .addHelpText('after', EXIT_CODES_HELP)
        .argument(
          '<file>',
          'scraper module (.ts, .mts, .js, .mjs) whose default export is defineScraper(...)',
        )
        .argument('[url...]', "start URLs (http or https); they replace the scraper's start"),
    ),
  )
    .option(
      '--items <file>',
      'items output: .jsonl, .csv or .sqlite, or - for stdout (default: <name>.items.jsonl)',
    )
    .action(async (file: string, urls: string[], flags: RunFlagValues, cmd: Command) =>
      setExit(await (await commands.run()).runScraper(file, urls, flags, cmd)),
    );

  addRedisFlags(
    addCrawlFlags(
      program
        .command('worker')
        .description('join a crawl in Redis (--redis URL --name NAME) without adding seeds')
        .addHelpText('after', EXIT_CODES_HELP),
    ),
    { worker: true },
  )
    .option(
      '--scraper <file>',
      "run this scraper module's handlers on this process's pages (default: none, follow links)",
    )
    .action(async (flags: WorkerFlagValues, cmd: Command) =>
      setExit(await (await commands.worker()).runWorker(flags, cmd)),
    );

  program
    .command('shell')
    .description('fetch one page as a crawl would and open a REPL with $ (cheerio), request, response, html')
    .argument('<url>', 'the page to fetch (http or https)')
    .option('--user-agent <ua>', 'User-Agent header', DEFAULTS.userAgent)
    .option('--timeout <duration>', 'request timeout (connect, headers and body)', '5s')
    .option('--max-bytes <size>', 'body cap after decompression', '10MB')
    .option('--header <name: value>', 'extra request header, repeatable', repeatable, [])
    .option('--allow-private', 'allow hosts on private/loopback addresses', false)
    .action(async (url: string, flags: ShellFlagValues) =>
      setExit(await (await commands.shell()).runShell(url, flags)),
    );

  addCrawlFlags(program.command('demo').description('serve the bundled demo site on 127.0.0.1 and crawl it'))
    .option('--pages <n>', 'pages on the demo site', '200')
    .action(async (flags: CrawlFlagValues & { pages: string }) =>
      setExit(await (await commands.demo()).runDemo(flags)),
    );

  program
    .command('serve-demo')
    .description('serve the bundled demo site until interrupted')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--pages <n>', 'pages on the site', '200')
    .option('--latency <ms>', 'delay per response in ms', '0')
    .option(
      '--site <name>',
      'which site: demo, shop, spa, spa-mixed, recrawl, members, capacity (src/testsite/sites.ts)',
      'demo',
    )
    .option(
      '--hosts <n>',
      'demo: spread the site over N hosts, one per loopback address 127.0.0.2, 127.0.0.3, … ' +
        '127.0.0.254, 127.0.1.1, … (skipping .0, .255 and 127.0.0.1), all on --port; --pages per host, ' +
        '--host ignored; Linux routes all of 127.0.0.0/8 to lo (default 1)',
    )
    .option('--capacity <n>', 'capacity site: answer 503 above N concurrent requests (default 8)')
    .option('--generation <n>', 'recrawl site: serve the site as changed N times (default 0)')
    .action(async (flags: { port: string; host: string; pages: string; latency: string; site: string }) =>
      setExit(await (await commands.demo()).runServeDemo(flags)),
    );

  program
    .command('status')
    .description("print a crawl's progress from its state file, or from Redis (works while it runs)")
    .argument('[state]', 'state file (.trawl/<name>.db), or use --redis URL --name NAME')
    .option('--json', 'print JSON', false)
    .option('--redis <url>', 'the status of crawl --name NAME in this Redis (default: none)')
    .option('--name <name>', 'with --redis: the crawl (default: none)')
    .action(async (state: string | undefined, flags: { json: boolean; redis?: string; name?: string }) =>
      setExit(await (await commands.status()).runStatusCommand(state, flags)),
    );

  program
    .command('dashboard')
    .description("serve the live dashboard over a crawl's state file (finished or running)")
    .argument('<state>', 'state file (.trawl/<name>.db)')
    .option('--listen <addr>', '[host:]port to serve on (0 = any free port)', '127.0.0.1:9090')
    .action(async (state: string, flags: { listen: string }) =>
      setExit(await (await commands.dashboard()).runDashboard(state, flags)),
    );

  program
    .command('export')
    .description("write a crawl's records and items from its state file or from Redis (works while it runs)")
    .argument('[state]', 'state file (or use --redis URL --name NAME)')
    .option(
      '--out <file>',
      'records: .jsonl, .csv or .sqlite, or .cdxj for an index of its WARC files (default: none; --out or --items is required)',
    )
    .option('--items <file>', "a scraper's items: .jsonl, .csv or .sqlite (default: none)")
    .option('--redis <url>', 'export crawl --name NAME from Redis instead of a state file (default: none)')
    .option('--name <name>', 'with --redis: the crawl (default: none)')
    .action(async (state: string | undefined, flags: ExportFlags) => {
      if (flags.out === undefined && flags.items === undefined)
        throw new UsageError('export needs --out FILE (records), --items FILE (items), or both');
      if (flags.out === '-' || flags.items === '-')
        throw new UsageError('export writes files: give --out and --items a file name, not -');
      if (flags.redis) {
        if (state) throw new UsageError('give a state file or --redis, not both');
        if (!flags.name) throw new UsageError('trawl export --redis needs --name NAME');
        setExit(await (await commands.worker()).runRedisExport({ ...flags, redis: flags.redis }));
      } else if (!state) {
        throw new UsageError('export needs a state file, or --redis URL --name NAME');
      } else if (flags.name !== undefined) {
        throw new UsageError('--name needs --redis (a state file holds one crawl)');
      } else {
        setExit((await commands.state()).runExport(state, flags));
      }
    });
  refuseRepeatedOptions(program);
  return program;
}

/**
 * Runs the CLI and resolves with its exit status (listed in exit-codes.ts): bad usage prints one
 * line and exits 2 before any request; a full disk prints one line and exits 74 (see failure.ts).
 */
/** The flags of `trawl export`. */
interface ExportFlags {
  out?: string;
  items?: string;
  redis?: string;
  name?: string;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return 2; // commander already printed its one-line error
    }
    const failure = failureOf(err);
    process.stderr.write(`${failure.line}\n`);
    return failure.code;
  }
  return code;
}
