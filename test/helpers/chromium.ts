import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`); CI installs it, tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Whether the system Chromium is installed; browser tests skip (with a message) only when it is not. */
export const hasChromium: boolean = existsSync(CHROMIUM_PATH);

/** Why browser tests were skipped, for describe names and logs. */
export const NO_CHROMIUM_MESSAGE = `browser tests skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`;

/**
 * Flags for a quiet, offline, container-friendly headless Chromium: no sandbox (containers lack
 * the namespaces), no GPU, no QUIC, and none of the background traffic (component updates, sync,
 * first-run) that would try to reach the internet.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches the system Chromium headless through playwright-core. Playwright gives every
 * `launch()` a fresh temporary profile (its own `--user-data-dir`, deleted on close; passing the
 * flag ourselves is refused by Playwright), so runs never share state. Close the browser in the
 * test's cleanup.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * Process ids of the Chromium processes whose parent is `pid` (the browsers a crawl in that
 * process launched: Playwright starts each browser as a direct child), read from /proc.
 */
export function chromiumChildrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('chromium'))
        out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}
