/**
 * The registry of sites `trawl serve-demo --site NAME` can serve (default `demo`). Each entry
 * starts its site from the command's flags; a site ignores the flags that mean nothing to it
 * (the shop, for one, ignores `pages`). Test-site modules add their entry here.
 */
import { startCapacitySite } from './capacity.js';
import { startMultiHostSite } from './multi-host.js';
import { startTestSite } from './server.js';
import { startShopSite } from './shop.js';
import { startSpaSite } from './spa.js';

/** The `serve-demo` flags, parsed. */
export interface ServeSiteOptions {
  /** Listen address. */
  host: string;
  /** Listen port (0: any free port). */
  port: number;
  /** Pages on the site (sites without a page count ignore it). */
  pages: number;
  /** Delay before every response, in ms. */
  latencyMs: number;
  /**
   * `demo` only: spread the site over this many loopback hosts (multi-host.ts; 127.0.0.2
   * upward, one shared port, `pages` per host, `host` ignored). Absent or 1: the single site.
   */
  hosts?: number;
  /** `capacity` only: C, the most requests served at once (default 8). */
  capacity?: number;
  /** `recrawl` only: the generation to serve (generations.ts; default 0). */
  generation?: number;
}

/** What `serve-demo` needs of a running site. */
export interface ServedSite {
  /** Base URL with trailing slash. */
  readonly url: string;
  /** A one-paragraph human description. */
  describe(): string;
  /** Stops the site. */
  close(): Promise<void>;
}

/** Site name → starter. */
export const SITES: Record<string, (opts: ServeSiteOptions) => Promise<ServedSite>> = {
  demo: (o) =>
    o.hosts !== undefined && o.hosts > 1
      ? startMultiHostSite({
          hosts: o.hosts,
          pagesPerHost: o.pages,
          port: o.port,
          latencyMs: o.latencyMs,
          seed: 1,
        })
      : startTestSite(demoOptions(o)),
  // The latency flag is the base latency here; 0 (its default) means the 20 ms.
  capacity: (o) =>
    startCapacitySite({
      capacity: o.capacity ?? 8,
      baseLatencyMs: o.latencyMs > 0 ? o.latencyMs : 20,
      pages: o.pages,
      host: o.host,
      port: o.port,
      seed: 1,
    }),
  // The demo site with validators and 304s, at a given generation (5 % changed per generation).
  recrawl: (o) => startTestSite({ ...demoOptions(o), recrawl: { generation: o.generation ?? 0 } }),
  // The demo site with the members area (/login as member/secret, /members/*).
  members: (o) => startTestSite({ ...demoOptions(o), members: {} }),
  shop: (o) => startShopSite({ host: o.host, port: o.port, latencyMs: o.latencyMs, seed: 1 }),
  // The client-rendered site (spa.ts); the latency flag is the API latency, 0 (its default)
  // meaning the 20 ms. `spa-mixed`: server-rendered, 10 % of pages app shells.
  spa: (o) => startSpaSite(spaOptions(o)),
  'spa-mixed': (o) => startSpaSite({ ...spaOptions(o), mixed: 0.1 }),
};

/** The demo site's options from the serve-demo flags (seed 1: the same site every time). */
function demoOptions(o: ServeSiteOptions) {
  return { pages: o.pages, host: o.host, port: o.port, latencyMs: o.latencyMs, seed: 1 };
}

/** The client-rendered site's options; its latency is the API's, 0 meaning the 20 ms. */
function spaOptions(o: ServeSiteOptions) {
  return {
    pages: o.pages,
    host: o.host,
    port: o.port,
    apiLatencyMs: o.latencyMs > 0 ? o.latencyMs : 20,
    seed: 1,
  };
}

/** The registered site names, sorted (for help text and error messages). */
export function siteNames(): string[] {
  return Object.keys(SITES).sort();
}
