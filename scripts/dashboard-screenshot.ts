/**
 * Makes docs/dashboard.png from a real crawl: serves the bundled demo site (the test site of
 * `trawl demo`, seed 1) with its faults switched on — every `/fault/...` endpoint linked from the
 * home page and 5 % of the leaf pages answering 500 — runs the `trawl crawl` command against it
 * with `--dashboard` in its own process, opens the dashboard in headless Chromium mid-crawl and
 * takes a full-page screenshot. Then it stops the crawl (SIGINT, the graceful stop) and the site.
 *
 *   npx tsx scripts/dashboard-screenshot.ts [--out docs/dashboard.png] [--after 60] [--pages 1000]
 *                                           [--latency 20] [-- <extra trawl crawl flags>]
 *
 * `--after` is how many seconds the crawl runs before the picture (so the charts have a history);
 * extra flags after `--` go to `trawl crawl` unchanged (the defaults are the CLI's own). Needs
 * Debian's /usr/bin/chromium; only loopback addresses are used. State and records go to a
 * temporary directory that is removed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startTestSite } from '../src/testsite/server.js';
import { CHROMIUM_ARGS } from '../test/helpers/chromium.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Resolves with the dashboard URL the CLI prints on stderr (`trawl: dashboard at URL ...`). */
function dashboardUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      const m = /dashboard at (\S+)/.exec(seen);
      if (m) {
        child.stderr?.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`trawl crawl exited (${code}) before serving:\n${seen}`)));
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      out: { type: 'string', default: path.join(REPO, 'docs', 'dashboard.png') },
      after: { type: 'string', default: '60' },
      pages: { type: 'string', default: '1000' },
      latency: { type: 'string', default: '20' },
    },
    allowPositionals: true,
  });
  const afterMs = Number(values.after) * 1000;
  const work = await mkdtemp(path.join(tmpdir(), 'trawl-shot-'));
  const site = await startTestSite({
    pages: Number(values.pages),
    linksPerPage: 10,
    seed: 1,
    latencyMs: Number(values.latency),
    faults: { link: true, error500Rate: 0.05 },
  });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO, 'src', 'cli', 'main.ts'),
      'crawl',
      site.url,
      '--name',
      'demo',
      '--state',
      path.join(work, 'demo.db'),
      '--out',
      path.join(work, 'demo.jsonl'),
      '--dashboard',
      '127.0.0.1:0',
      '--quiet',
      ...positionals,
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await dashboardUrl(child);
    process.stderr.write(`crawling ${site.url}, dashboard at ${url}; screenshot in ${values.after} s\n`);
    await new Promise((r) => setTimeout(r, afterMs));
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      await page.goto(url);
      // The page draws from its first event (which carries the history); give the charts a few
      // more frames so the newest points are in.
      await page.waitForSelector('#pages tbody tr');
      await page.waitForTimeout(2000);
      await page.screenshot({ path: values.out, fullPage: true });
    } finally {
      await browser.close();
    }
    process.stderr.write(`wrote ${values.out}\n`);
  } finally {
    child.kill('SIGINT');
    await exited;
    await site.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
