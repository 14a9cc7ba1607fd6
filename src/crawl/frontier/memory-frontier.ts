import { SeenSet } from '../dedup/seen-set.js';
import type { SinkMark } from '../store/sink.js';
import { Deque } from './deque.js';
import type { Completion, Frontier, FrontierItem, FrontierStats } from './frontier.js';
import { EMPTY_HOST_STATE, type HostState } from './host-state.js';
import { MinHeap } from './min-heap.js';

/** Options of {@link MemoryFrontier}. */
export interface MemoryFrontierOptions {
  /**
   * Dedup through a SeenSet (Bloom filter in front of an exact Set) instead of a bare Set —
   * default false: in memory the exact Set is needed anyway and one hash lookup is cheaper than
   * Bloom probes plus that lookup (see bench/crawl/frontier.bench.ts).
   */
  bloom?: boolean;
  /** Expected number of distinct URLs, sizing the Bloom filter (default 1e6). */
  expected?: number;
  /** Bloom false-positive rate (default 0.01; positives are confirmed exactly). */
  fpRate?: number;
}

/** The exact "accepted before?" set: `add` returns true when the URL is new. */
interface UrlSet {
  add(url: string): boolean;
}

/** A bare Set as a UrlSet: one hash lookup per call. */
class PlainUrlSet implements UrlSet {
  private readonly set = new Set<string>();
  add(url: string): boolean {
    const n = this.set.size;
    this.set.add(url);
    return this.set.size !== n;
  }
}

interface HostQueue {
  host: string;
  /** Due items in FIFO order. */
  queue: Deque<FrontierItem>;
  inRing: boolean;
  /** Items allotted in the current lease call. */
  want: number;
}

/**
 * A Frontier held entirely in memory (not resumable: for tests, `--state none` and small crawls).
 * Per-host FIFO deques, round robin across hosts with due work, a min-heap of items whose
 * notBefore has not come yet (they join the back of their host's queue once a lease's `now`
 * reaches it), and an exact seen set for dedup (a Set, or a SeenSet with `bloom`). `complete`'s sink mark is
 * ignored and records are not kept (they go to the sink); only the URLs of failed completions are
 * kept, for requeueFailed.
 */
export class MemoryFrontier implements Frontier {
  private readonly seen: UrlSet;
  private readonly hosts = new Map<string, HostQueue>();
  private ring: HostQueue[] = [];
  private cursor = 0;
  private readonly delayed = new MinHeap<FrontierItem>();
  private readonly leased = new Map<string, FrontierItem>();
  /** URLs completed while still queued: lease drops them when it meets them. */
  private readonly doneWhileQueued = new Set<string>();
  private readonly failedItems = new Map<string, FrontierItem>();
  private readonly hostStates = new Map<string, HostState>();
  private readonly paused = new Map<string, number>();
  private queuedN = 0;
  private doneN = 0;
  private failedN = 0;
  private seenN = 0;

  /** An empty frontier. */
  constructor(opts: MemoryFrontierOptions = {}) {
    this.seen = opts.bloom
      ? new SeenSet({ expected: opts.expected ?? 1e6, fpRate: opts.fpRate ?? 0.01 })
      : new PlainUrlSet();
  }

  /**
   * Enqueues the items whose URL was never accepted before; returns how many were new. Duplicates
   * (including within `items`) cost one SeenSet lookup each. An item with `notBefore` > 0 waits in
   * the delay heap until a lease's `now` reaches it.
   */
  add(items: readonly FrontierItem[]): number {
    let n = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (!this.seen.add(it.url)) continue;
      n++;
      this.enqueue(it);
    }
    this.seenN += n;
    return n;
  }

  private enqueue(it: FrontierItem): void {
    this.queuedN++;
    const nb = it.notBefore ?? 0;
    if (nb > 0) this.delayed.push(nb, it);
    else this.pushDue(it);
  }

  private pushDue(it: FrontierItem): void {
    let q = this.hosts.get(it.host);
    if (q === undefined) {
      q = { host: it.host, queue: new Deque(), inRing: false, want: 0 };
      this.hosts.set(it.host, q);
    }
    q.queue.push(it);
    if (!q.inRing) {
      q.inRing = true;
      this.ring.push(q);
    }
  }

  /**
   * Leases up to `max` due items rotating across hosts: items whose notBefore ≤ `now` first move
   * from the delay heap to the back of their host's queue; then the ring of hosts with due items
   * is walked from where the previous call stopped, skipping hosts paused past `now` and hosts for
   * which `ready(host)` is false (called at most once per host per call; must be side-effect
   * free), and the `max` slots are dealt one per chosen host per round, each host's items in FIFO
   * order. The result is interleaved host by host. [] when `max` ≤ 0 or nothing can go.
   */
  lease(max: number, now: number, ready: (host: string) => boolean): FrontierItem[] {
    while (this.delayed.size > 0 && this.delayed.peekKey()! <= now) this.pushDue(this.delayed.pop()!);
    if (max <= 0 || this.ring.length === 0) return [];
    const ring = this.ring;
    const chosen: HostQueue[] = [];
    const chosenAt: number[] = [];
    let dead = 0;
    let i = 0;
    for (; i < ring.length && chosen.length < max; i++) {
      const at = (this.cursor + i) % ring.length;
      const q = ring[at]!;
      if (q.queue.length === 0) {
        dead++;
        continue;
      }
      const until = this.paused.get(q.host);
      if (until !== undefined) {
        if (until > now) continue;
        this.paused.delete(q.host);
      }
      if (ready(q.host)) {
        q.want = 0;
        chosen.push(q);
        chosenAt.push(at);
      }
    }
    // The next call starts after the last host served, so a partial round is finished first.
    let next = (this.cursor + i) % ring.length;
    const out: FrontierItem[] = [];
    for (let progress = true; out.length < max && progress; ) {
      progress = false;
      for (let c = 0; c < chosen.length; c++) {
        const q = chosen[c]!;
        if (out.length === max) break;
        let it = q.queue.shift();
        while (it !== undefined && this.doneWhileQueued.delete(it.url)) {
          this.queuedN--;
          it = q.queue.shift();
        }
        if (it === undefined) continue;
        progress = true;
        next = (chosenAt[c]! + 1) % ring.length;
        this.queuedN--;
        this.leased.set(it.url, it);
        out.push(it);
      }
    }
    this.cursor = next;
    if (dead > 0 || chosen.some((q) => q.queue.length === 0)) this.compactRing();
    return out;
  }

  private compactRing(): void {
    const at = this.ring[this.cursor];
    const live: HostQueue[] = [];
    let cursor = 0;
    for (const q of this.ring) {
      if (q === at) cursor = live.length;
      if (q.queue.length > 0) live.push(q);
      else {
        q.inRing = false;
        this.hosts.delete(q.host);
      }
    }
    this.ring = live;
    this.cursor = live.length === 0 ? 0 : cursor % live.length;
  }

  /**
   * 0 when some queued item is due already (its host queue is not empty), else the earliest
   * notBefore in the delay heap, else undefined (nothing queued). Host pauses are not considered.
   */
  nextDueAt(): number | undefined {
    if (this.queuedN === 0) return undefined;
    if (this.queuedN > this.delayed.size) return 0;
    return this.delayed.peekKey();
  }

  /**
   * Returns a leased item to the back of its host's queue (or to the delay heap when `notBefore`
   * > 0), keeping the item's current `attempts`. A no-op for an item that is not leased.
   */
  release(item: FrontierItem, notBefore = 0): void {
    if (!this.leased.delete(item.url)) return;
    const back: FrontierItem = { ...item };
    if (notBefore > 0) back.notBefore = notBefore;
    else delete back.notBefore;
    this.enqueue(back);
  }

  /**
   * Records a batch: each item counts as done (failed when its record has an error); an item that
   * was not leased is marked seen (counting towards `seen` if new) and, if still queued, is
   * dropped from its queue; then the links are added as by `add`. Returns how many links were
   * new. Nothing here can fail half-way; `sinkMark` is ignored (nothing is durable).
   */
  complete(batch: readonly Completion[], _sinkMark?: SinkMark): number {
    for (const c of batch) {
      const url = c.item.url;
      if (!this.leased.delete(url)) {
        if (this.seen.add(url)) this.seenN++;
        else if (this.isQueued(url)) this.doneWhileQueued.add(url);
      }
      this.doneN++;
      if (c.record.error !== null) {
        this.failedN++;
        this.failedItems.set(url, c.item);
      } else this.failedItems.delete(url);
    }
    let n = 0;
    for (const c of batch) n += this.add(c.links);
    return n;
  }

  /** Is `url` in a host queue (due) — O(queue length), only used on the rare completed-while-queued path. */
  private isQueued(url: string): boolean {
    for (const q of this.ring) {
      const qq = q.queue;
      for (let i = 0, n = qq.length; i < n; i++) {
        const it = qq.shift()!;
        qq.push(it);
        if (it.url === url) {
          // Finish the rotation so the queue keeps its order.
          for (let j = i + 1; j < n; j++) qq.push(qq.shift()!);
          return true;
        }
      }
    }
    return false;
  }

  /** Current counters. */
  stats(): FrontierStats {
    return {
      queued: this.queuedN - this.doneWhileQueued.size,
      leased: this.leased.size,
      done: this.doneN,
      failed: this.failedN,
      seen: this.seenN,
    };
  }

  /** The host's politeness state, or undefined when none was set. */
  getHostState(host: string): HostState | undefined {
    const s = this.hostStates.get(host);
    return s === undefined ? undefined : { ...s };
  }

  /** Merges `patch` into the host's state (missing fields keep their value or default). */
  setHostState(host: string, patch: Partial<HostState>): void {
    const s = { ...(this.hostStates.get(host) ?? EMPTY_HOST_STATE), ...patch };
    this.hostStates.set(host, s);
    if (s.pausedUntil > 0) this.paused.set(host, s.pausedUntil);
    else this.paused.delete(host);
  }

  /** Lease skips the host while `now < until`; 0 unpauses. */
  pauseHost(host: string, until: number): void {
    this.setHostState(host, { pausedUntil: until });
  }

  /**
   * Puts every URL completed with an error back in its host's queue (attempts reset to 0) and
   * forgets those completions (done and failed shrink); returns how many.
   */
  requeueFailed(): number {
    const n = this.failedItems.size;
    for (const it of this.failedItems.values()) {
      const back: FrontierItem = { ...it, attempts: 0 };
      delete back.notBefore;
      this.enqueue(back);
    }
    this.doneN -= n;
    this.failedN -= n;
    this.failedItems.clear();
    return n;
  }

  /** Drops nothing and holds nothing open: a no-op kept for the interface. */
  close(): void {}
}
