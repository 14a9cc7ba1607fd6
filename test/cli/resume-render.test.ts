/**
 * Resume with --render (issue 13): `trawl crawl --render` with a state file, SIGKILLed while it
 * renders and rerun with the same command, ends with every page of the client-rendered test site
 * exactly once, each rendered with its script-set title — the engine's exactly-once store holds
 * for pages that Chromium loaded. The killed runs' browsers go with them.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prng } from '../../src/testsite/site.js';
import { type SpaSite, startSpaSite } from '../../src/testsite/spa.js';
import { chromiumChildrenOf, hasChromium, NO_CHROMIUM_MESSAGE } from '../helpers/chromium.js';
import { cleanup, readJsonl, spawnCli, tempDir, until } from '../helpers/cli.js';

let site: SpaSite | null = null;
afterEach(async () => {
  await cleanup();
  await site?.close();
  site = null;
});

const KILLS = 3;
/** Seed of the kill moments: fixed so a failure reproduces. */
const SEED = 0x5ba;

const sizeOf = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Whether process `pid` still exists (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

describe.skipIf(!hasChromium)(`resume a rendered crawl ${hasChromium ? '' : NO_CHROMIUM_MESSAGE}`, () => {
  it(`SIGKILL at ${KILLS} random moments while rendering, then a rerun: every page exactly once, rendered`, async () => {
    site = await startSpaSite({ pages: 30 });
    const dir = tempDir('trawl-resume-render-');
    const state = join(dir, 's.db');
    const out = join(dir, 'out.jsonl');
    const args = ['crawl', site.url, '--render', '--rate', 'inf', '--workers', '6', '--tabs', '3'];
    args.push('--state', state, '--out', out);
    const rand = prng(SEED);
    const browsers: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      const before = sizeOf(out);
      const proc = spawnCli(args, { timeoutMs: 240_000 });
      await until(() => proc.done || sizeOf(out) > before, 'the run to store records', 200_000);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
      browsers.push(...chromiumChildrenOf(proc.pid));
      proc.kill('SIGKILL');
      const r = await proc.exited;
      expect(r.timedOut).toBe(false);
    }
    const last = await spawnCli(args, { timeoutMs: 240_000 }).exited;
    expect(last.timedOut, last.stderr).toBe(false);
    expect(last.code, last.stderr).toBe(0);
    const { records, bad, endsClean } = readJsonl(out);
    expect(bad).toEqual([]);
    expect(endsClean).toBe(true);
    const paths = records.map((r) => new URL(r.url as string).pathname);
    expect(new Set(paths).size, 'pages stored more than once').toBe(paths.length);
    expect(paths.sort()).toEqual(site.pages.map((p) => p.path).sort());
    for (const r of records) {
      const path = new URL(r.url as string).pathname;
      expect(r.rendered, path).toBe(true);
      expect(r.error, path).toBeNull();
      expect(r.title, path).toBe(site.page(path)!.title);
    }
    // The killed runs' Chromiums did not outlive them (their pipe to the crawler closed).
    await until(() => browsers.every((pid) => !alive(pid)), 'the killed runs’ browsers to exit', 60_000);
  }, 900_000);
});
