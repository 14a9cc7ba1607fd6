import { accessSync, constants, statSync } from 'node:fs';
import { UsageError } from '../usage-error.js';
import { playwrightChromium } from './playwright.js';

/** Where Chromium is looked for when no path is given, in order (Debian, Ubuntu, Google's package). */
export const SYSTEM_CHROMIUM_PATHS: readonly string[] = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
];

/** The one-line error when no Chromium is found. */
export const NO_CHROMIUM =
  '--render: no Chromium found (apt-get install -y chromium, or npx playwright install chromium, or --chromium PATH)';

/**
 * Flags for a quiet, offline, container-safe headless Chromium, on top of Playwright's own
 * defaults (which already disable background timer throttling, renderer backgrounding, default
 * apps, extensions, popup blocking, first-run and crash reporting):
 * - `--no-sandbox`: containers usually lack the user namespaces the sandbox needs;
 * - `--disable-dev-shm-usage`: Docker's 64 MB /dev/shm makes renderers crash under load;
 * - `--disable-gpu`, `--disable-quic`, `--mute-audio`: no GPU process work, no UDP, no sound;
 * - no background traffic to Google (component updates, sync, domain reliability, safe
 *   browsing): a crawler's browser must make only the requests its pages make, all of them
 *   through the guard proxy.
 * No `--disable-features`: Chromium keeps only the last one, which would drop Playwright's own
 * list (some of it is needed for correct interception of redirects).
 * No `--proxy-bypass-list`: the proxy is set per browser context, and Playwright adds
 * `<-loopback>` to a context's bypass list itself, so loopback requests go through the guard
 * proxy as well.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-gpu',
  '--disable-quic',
  '--mute-audio',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--safebrowsing-disable-auto-update',
];

/**
 * The Chromium executable to render with. With `explicit` (`--chromium PATH`): that path if it
 * is an executable regular file, else a UsageError `--chromium PATH: <problem>` (no search
 * elsewhere: the user asked for that one). Without: the first of SYSTEM_CHROMIUM_PATHS that is
 * an executable file, else playwright-core's own download location (`npx playwright install
 * chromium`) if that file exists, else a UsageError with the one-line {@link NO_CHROMIUM}
 * message. Only checks the file; whether it really is Chromium shows at launch
 * (BrowserLaunchError).
 */
export function findChromium(explicit?: string): string {
  if (explicit !== undefined) {
    const problem = executableProblem(explicit);
    if (problem !== null) throw new UsageError(`--chromium ${explicit}: ${problem}`);
    return explicit;
  }
  for (const path of SYSTEM_CHROMIUM_PATHS) if (executableProblem(path) === null) return path;
  let bundled: string | null = null;
  try {
    bundled = playwrightChromium().executablePath();
  } catch {
    bundled = null; // playwright-core throws when it knows no path for this platform
  }
  if (bundled && executableProblem(bundled) === null) return bundled;
  throw new UsageError(NO_CHROMIUM);
}

// Why `path` cannot be run as Chromium, or null when it is an executable regular file.
function executableProblem(path: string): string | null {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return 'no such file';
  }
  if (!isFile) return 'not a file';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return 'not executable';
  }
  return null;
}
