import type { FrontierItem } from '../frontier/frontier.js';
import { MinHeap } from '../frontier/min-heap.js';

/**
 * The crawl's in-flight ledger: the one owner of every end-of-crawl counter, and the only place
 * that decides "finished". A leased URL is in exactly one of three places until it is stored or
 * handed back to the frontier:
 *
 * - `outstanding`: between lease (or a retry's wake-up) and the store step (fetching, parsing,
 *   waiting for a batch);
 * - held for a retry: its attempt failed and the retry policy said "again at T" — the URL stays
 *   leased and waits here, not in the frontier, so a retry never competes with fresh URLs for the
 *   --max-pages budget (the frontier could hand out a fresh URL instead, and a budget counting the
 *   retry would then never let it be leased: the hang of issue 10);
 * - `stored`: its record is durable.
 *
 * The --max-pages budget is `maxPages - stored - outstanding - retrying`: a URL holds its slot
 * from lease to record. Sitemap walks (`seeding`) may still add URLs. Plain counters: no
 * allocation per page beyond the retry heap's entries.
 */
export class Ledger {
  readonly #maxPages: number;
  #stored = 0;
  #outstanding = 0;
  #seeding = 0;
  readonly #retries = new MinHeap<FrontierItem>();
  /** Retries whose time has come but whose host could not go yet (checked before the heap). */
  readonly #due: FrontierItem[] = [];

  /** `maxPages` is the crawl's --max-pages (Infinity: none). */
  constructor(maxPages: number) {
    this.#maxPages = maxPages;
  }

  /** Records stored by this run. */
  get stored(): number {
    return this.#stored;
  }

  /** URLs between lease and store (not counting held retries). */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** URLs held for a retry. */
  get retrying(): number {
    return this.#retries.size + this.#due.length;
  }

  /** Fresh URLs that may still be leased under --max-pages (may be ≤ 0). */
  budget(): number {
    return this.#maxPages - this.#stored - this.#outstanding - this.retrying;
  }

  /** Whether --max-pages has been reached by stored records. */
  get maxPagesReached(): boolean {
    return this.#stored >= this.#maxPages;
  }

  /** One URL leased from the frontier (or a held retry taken) enters the pipeline. */
  started(): void {
    this.#outstanding++;
  }

  /** One URL left the pipeline without a record: handed back to the frontier, or dropped. */
  left(): void {
    this.#outstanding--;
  }

  /** `n` URLs of the pipeline were stored (their batch is durable). */
  storedBatch(n: number): void {
    this.#stored += n;
    this.#outstanding -= n;
  }

  /** A URL of the pipeline waits for its retry at `at` (still leased). */
  hold(item: FrontierItem, at: number): void {
    this.#outstanding--;
    this.#retries.push(at, item);
  }

  /**
   * A held retry due at `now` whose host may go now (`readyAt(host)` ≤ `now`, the frontier's lease
   * predicate), moved back into the pipeline (counted as started); undefined when none can go.
   * Due retries whose host can't go wait for a later call, which asks again (they are few: no
   * host is set aside here).
   */
  takeRetry(now: number, readyAt: (host: string) => number): FrontierItem | undefined {
    while ((this.#retries.peekKey() ?? Number.POSITIVE_INFINITY) <= now) this.#due.push(this.#retries.pop()!);
    for (let i = 0; i < this.#due.length; i++) {
      const item = this.#due[i]!;
      if (!(readyAt(item.host) <= now)) continue;
      this.#due.splice(i, 1);
      this.#outstanding++;
      return item;
    }
    return undefined;
  }

  /** When the next held retry is due (undefined: none, or only due ones waiting for their host). */
  nextRetryAt(): number | undefined {
    return this.#retries.peekKey();
  }

  /** The hosts of the held retries that are due but whose host could not go yet (few). */
  *dueRetryHosts(): Iterable<string> {
    for (const item of this.#due) yield item.host;
  }

  /**
   * Every held retry with its due time, removed from the ledger (at shutdown, to hand them back
   * to the frontier so a resumed crawl retries them).
   */
  takeAllRetries(): { item: FrontierItem; at: number }[] {
    const out = this.#due.splice(0).map((item) => ({ item, at: 0 }));
    for (let at = this.#retries.peekKey(); at !== undefined; at = this.#retries.peekKey())
      out.push({ item: this.#retries.pop()!, at });
    return out;
  }

  /** A sitemap walk that may add URLs started / ended. */
  seedingStarted(): void {
    this.#seeding++;
  }
  seedingEnded(): void {
    this.#seeding--;
  }

  /** True while a sitemap walk may still add URLs. */
  get seeding(): boolean {
    return this.#seeding > 0;
  }

  /** Nothing in the pipeline and no sitemap walk running (held retries wait for time only). */
  quiet(): boolean {
    return this.#outstanding === 0 && this.#seeding === 0;
  }

  /**
   * Whether this process's crawl is finished, given the frontier's `queued` count: nothing in the
   * pipeline, no held retry, no sitemap walk, and either nothing queued or no budget for it.
   * A shared frontier must also report `drained()` when `queued` is 0 (see the scheduler).
   */
  finished(queued: number): boolean {
    return this.quiet() && this.retrying === 0 && (queued === 0 || this.budget() <= 0);
  }
}
