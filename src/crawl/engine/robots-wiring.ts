import type { Hop } from '../fetch/fetch-page.js';
import { schedulesHosts } from '../frontier/frontier.js';
import { RobotsGate, type RobotsVerdict } from '../robots/robots-gate.js';
import { hostKey } from '../url/normalize.js';
import type { EngineContext } from './context.js';

/**
 * Connects robots.txt to the scheduler: remembers one URL per host (for robots.txt's scheme),
 * collects the hosts the scheduler's pure `ready` predicate found waiting for robots.txt and
 * starts their fetches after the lease ({@link startWanted}), applies what a settled robots.txt
 * says (status, Crawl-delay — in the frontier too when it schedules hosts itself — and sitemaps),
 * and answers a URL's {@link verdict}.
 */
export class RobotsWiring {
  readonly #gate: RobotsGate;
  readonly #sampleUrl = new Map<string, string>();
  readonly #wanted = new Set<string>();
  /** Hosts whose robots.txt fetch was started and has not settled yet. */
  readonly #settling = new Set<string>();
  readonly #seedHosts: ReadonlySet<string>;

  /** `onSitemaps`: a seed host's robots.txt lists sitemaps (first fetch only, --sitemaps auto). */
  constructor(d: EngineContext, onSitemaps: (urls: readonly string[]) => void) {
    const o = d.options;
    this.#seedHosts = new Set(o.seeds.map((u) => hostKey(u)));
    this.#gate = new RobotsGate({
      agent: d.requestAgent,
      userAgent: o.userAgent,
      timeoutMs: o.timeoutMs,
      ignore: o.ignoreRobots,
      connections: d.connections,
      signal: d.abort,
      clock: d.clock,
      ...(d.archive === null ? {} : { onHops: (hops: readonly Hop[]) => d.archive!.side(hops) }),
      onReady: (host, info) => {
        this.#settling.delete(host);
        const s = d.hosts.get(host);
        if (info.crawlDelay) {
          d.hosts.applyCrawlDelay(s, info.crawlDelay);
          if (schedulesHosts(d.frontier)) void d.frontier.setHostInterval(host, info.crawlDelay * 1000);
        }
        // After the Crawl-delay: the frontier looks at a host blocked on robots.txt again (HostTable's mayGo).
        d.hosts.setRobots(s, info.status);
        d.metrics.setHostState(host, { robots: info.status, rate: s.limiter.limit() });
        if (!info.refreshed && o.sitemapsAuto && info.sitemaps.length > 0 && this.#seedHosts.has(host))
          onSitemaps(info.sitemaps);
        d.wake();
      },
    });
  }

  /** Remembers `url` as `host`'s sample (the first one seen wins). */
  noteHost(host: string, url: string): void {
    if (!this.#sampleUrl.has(host)) this.#sampleUrl.set(host, url);
  }

  /** Notes that the scheduler wants `host`'s robots.txt (called from a pure predicate: no I/O). */
  want(host: string): void {
    this.#wanted.add(host);
  }

  /** Starts the robots.txt fetches of the hosts wanted since the last call. */
  startWanted(): void {
    for (const host of this.#wanted) {
      this.#settling.add(host);
      this.#gate.request(host, this.#sampleUrl.get(host) ?? `http://${host}/`);
    }
    this.#wanted.clear();
  }

  /** True while a robots.txt fetch started here has not settled. */
  get settling(): boolean {
    return this.#settling.size > 0;
  }

  /**
   * Whether `url` on `host` may be fetched now (robots-gate.ts): allowed; refused (the reason is
   * the record's error, kind `robots`); or robots.txt unreachable (network error or 5xx:
   * disallowed for now), which the engine counts as a failed attempt of the page.
   */
  verdict(host: string, url: string): RobotsVerdict {
    return this.#gate.verdict(host, url);
  }

  /** Cancels robots.txt fetches still running (a background refetch must not hold up the end). */
  close(): void {
    this.#gate.close();
  }
}
