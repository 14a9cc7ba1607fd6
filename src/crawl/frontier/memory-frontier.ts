import type { SinkMark } from '../store/sink.js';
import { Deque } from './deque.js';
import {
  type Completion,
  type Frontier,
  type FrontierItem,
  type FrontierStats,
  itemKey,
  type PausesHosts,
  type RequeuesFailed,
} from './frontier.js';
import { HostRing, OUT, type RingPlace } from './host-ring.js';
import { MinHeap } from './min-heap.js';

/** Options of {@link MemoryFrontier}. */
export interface MemoryFrontierOptions {
  /**
   * Expected number of distinct URLs. Accepted for symmetry with SqliteFrontier and unused: the
   * seen set is a Map that grows as needed.
   */
  expected?: number;
}

/** An item's state in the seen map (keyed by {@link itemKey}). */
const QUEUED = 0;
const LEASED = 1;
const DONE = 2;
type UrlState = typeof QUEUED | typeof LEASED | typeof DONE;

interface HostQueue {
  host: string;
  /** Due items in FIFO order (may hold items completed while queued: lease skips those). */
  queue: Deque<FrontierItem>;
  /** The ring's (see RingHost). */
  place: RingPlace;
  wakeAt: number;
}

function newHostQueue(host: string): HostQueue {
  return { host, queue: new Deque(), place: OUT, wakeAt: 0 };
}

/**
 * A Frontier held entirely in memory (not resumable: for tests, `--state none` and small crawls).
 * Per-host FIFO deques, round robin across hosts with due work (a HostRing: hosts that may not
 * go yet are set aside until their time or an event, see lease and wake), a min-heap of items whose
 * notBefore has not come yet (they join the back of their host's queue once a lease's `now`
 * reaches it), and one Map from an item's identity ({@link itemKey}: its key, else its URL) to its
 * state (queued/leased/done) that is both the exact seen set and the lease book: a duplicate link
 * costs one hash lookup. (A Bloom filter in front — a
 * SeenSet — was measured slower here: the exact Map is needed anyway, so the filter only adds
 * its probes; see bench/crawl/frontier.bench.ts.) `complete`'s sink marks are ignored and
 * records and scraped items are not kept (they go to the sinks; only their number is counted);
 * only the frontier items of failed completions are kept, for requeueFailed.
 */
export class MemoryFrontier implements Frontier, PausesHosts, RequeuesFailed {
  private readonly seen = new Map<string, UrlState>();
  private readonly ring = new HostRing<HostQueue>((q) => q.queue.length === 0);
  private readonly delayed = new MinHeap<FrontierItem>();
  private readonly failedItems = new Map<string, FrontierItem>();
  private queuedN = 0;
  private leasedN = 0;
  private doneN = 0;
  private failedN = 0;
  private itemsN = 0;

  /** An empty frontier (`opts` is accepted for symmetry with SqliteFrontier; see MemoryFrontierOptions). */
  // biome-ignore lint/complexity/noUselessConstructor: declares the options parameter callers pass.
  constructor(_opts: MemoryFrontierOptions = {}) {}

  /**
   * Enqueues the items whose identity ({@link itemKey}) was never accepted before; returns how
   * many were new. Each item costs one Map lookup (duplicates within `items` count once). An item with `notBefore` > 0
   * waits in the delay heap until a lease's `now` reaches it.
   */
  add(items: readonly FrontierItem[]): number {
    const seen = this.seen;
    let n = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const k = it.key ?? it.url; // itemKey, inlined on the hot path
      if (seen.has(k)) continue; // the hot path: one hash lookup per duplicate
      seen.set(k, QUEUED);
      n++;
      this.enqueue(it);
    }
    return n;
  }

  private enqueue(it: FrontierItem): void {
    this.queuedN++;
    const nb = it.notBefore ?? 0;
    if (nb > 0) this.delayed.push(nb, it);
    else this.pushDue(it);
  }

  private pushDue(it: FrontierItem): void {
    const q = this.ring.entry(it.host, newHostQueue);
    q.queue.push(it);
    this.ring.join(q);
  }

  /** Pops the host's next item that is still queued (skipping ones completed while queued). */
  private nextOf(q: HostQueue): FrontierItem | undefined {
    for (;;) {
      const it = q.queue.shift();
      if (it === undefined || this.seen.get(itemKey(it)) === QUEUED) return it;
    }
  }

  /**
   * Leases up to `max` due items rotating across hosts: items whose notBefore ≤ `now` first move
   * from the delay heap to the back of their host's queue; then the hosts of the ring's rotation
   * (HostRing.pick: hosts asleep until a time ≤ `now` rejoin it first) are walked from where the
   * previous call stopped: a host paused past `now` sleeps until its pause ends; `readyAt(host)`
   * (called at most once per host per call; must be side-effect free) chooses it (≤ `now`), puts
   * it to sleep until that time (finite, > `now`) or blocks it until {@link wake} (Infinity);
   * and the `max` slots are dealt one per chosen host per round, each host's items in FIFO order.
   * The result is interleaved host by host; the next call starts after the last host served.
   * [] when `max` ≤ 0 or nothing can go. Hosts asleep or blocked are not looked at, so the cost
   * does not grow with their number.
   */
  lease(max: number, now: number, readyAt: (host: string) => number): FrontierItem[] {
    while (this.delayed.size > 0 && this.delayed.peekKey()! <= now) {
      const it = this.delayed.pop()!;
      if (this.seen.get(itemKey(it)) === QUEUED) this.pushDue(it);
    }
    const out: FrontierItem[] = [];
    this.ring.pick(max, now, readyAt, (q) => {
      const it = this.nextOf(q);
      if (it === undefined) return false;
      this.seen.set(itemKey(it), LEASED);
      out.push(it);
      return true;
    });
    this.queuedN -= out.length;
    this.leasedN += out.length;
    return out;
  }

  /**
   * The earlier of: when a host with queued items may go (HostRing.dueAt: 0 for one in the
   * rotation, else the earliest sleeper's time; hosts blocked until a wake do not count) and the
   * earliest notBefore in the delay heap; undefined when neither has anything.
   */
  nextDueAt(): number | undefined {
    if (this.queuedN === 0) return undefined;
    const hosts = this.queuedN > this.delayed.size ? this.ring.dueAt() : undefined;
    const delayed = this.delayed.peekKey();
    if (hosts === undefined) return delayed;
    return delayed === undefined ? hosts : Math.min(hosts, delayed);
  }

  readonly hostTimes = true as const;

  /**
   * Returns a leased item to the back of its host's queue (or to the delay heap when `notBefore`
   * > 0), keeping the item's current `attempts`. A no-op for an item that is not leased.
   */
  release(item: FrontierItem, notBefore = 0): void {
    const k = itemKey(item);
    if (this.seen.get(k) !== LEASED) return;
    this.seen.set(k, QUEUED);
    this.leasedN--;
    const back: FrontierItem = { ...item };
    if (notBefore > 0) back.notBefore = notBefore;
    else delete back.notBefore;
    this.enqueue(back);
  }

  /**
   * Records a batch: each item counts as done (failed when its record has an error) — a leased
   * item stops being leased, a queued one leaves the queue, one never seen becomes seen; then the
   * links are added as by `add`. Returns how many links were new. Nothing here can fail half-way;
   * the marks are ignored (nothing is durable) and the scraped items are only counted. Completing
   * an already-done item again counts it (and its scraped items) again.
   */
  complete(batch: readonly Completion[], _sinkMark?: SinkMark, _itemsMark?: SinkMark): number {
    for (const c of batch) {
      const key = itemKey(c.item);
      const state = this.seen.get(key);
      if (state === LEASED) this.leasedN--;
      else if (state === QUEUED) this.queuedN--; // its queue entry is skipped by lease
      this.seen.set(key, DONE);
      this.doneN++;
      if (c.items !== undefined) this.itemsN += c.items.length;
      if (c.record.error !== null) {
        this.failedN++;
        this.failedItems.set(key, c.item);
      } else this.failedItems.delete(key);
    }
    let n = 0;
    for (const c of batch) n += this.add(c.links);
    return n;
  }

  /**
   * Whether `url` was ever accepted (queued, leased or done) as a plain item (one without a key);
   * an item with a key answers to its key.
   */
  has(url: string): boolean {
    return this.seen.has(url);
  }

  /** Current counters; `items` counts the scraped items of every completion. */
  stats(): FrontierStats {
    return {
      queued: this.queuedN,
      leased: this.leasedN,
      done: this.doneN,
      failed: this.failedN,
      seen: this.seen.size,
      items: this.itemsN,
    };
  }

  /** Exact: nothing queued and nothing leased (this frontier serves one process). */
  drained(): boolean {
    return this.queuedN === 0 && this.leasedN === 0;
  }

  /** Lease skips the host while `now < until` (it sleeps until then, unasked); 0 unpauses (HostRing.pause). */
  pauseHost(host: string, until: number): void {
    this.ring.pause(host, until);
  }

  /**
   * A host blocked by a lease's `readyAt` (Infinity) rejoins the back of the rotation and is
   * asked again by the next lease; returns whether it was blocked (HostRing.wake). A no-op for a
   * host without queued work, one in the rotation and one asleep until a time.
   */
  wake(host: string): boolean {
    return this.ring.wake(host);
  }

  /** The hosts blocked until {@link wake} (including ones whose queued items were completed meanwhile). */
  blockedHosts(): string[] {
    return this.ring.blockedHosts();
  }

  /**
   * Puts every URL completed with an error back in its host's queue (attempts reset to 0) and
   * forgets those completions (done and failed shrink); returns how many.
   */
  requeueFailed(): number {
    const n = this.failedItems.size;
    for (const it of this.failedItems.values()) {
      this.seen.set(itemKey(it), QUEUED);
      const back: FrontierItem = { ...it, attempts: 0 };
      delete back.notBefore;
      this.enqueue(back);
    }
    this.doneN -= n;
    this.failedN -= n;
    this.failedItems.clear();
    return n;
  }

  /** Holds nothing open: a no-op kept for the interface. */
  close(): void {}
}
