/** What a {@link HostRing} needs of a host's queue: its name and a flag the ring owns. */
export interface RingHost {
  readonly host: string;
  /** True while the entry is in the ring; set and cleared by the ring only. */
  inRing: boolean;
}

/**
 * The round-robin ring of hosts with queued work that both frontiers lease from: a map from host
 * name to the frontier's per-host entry `Q`, the ring of entries that may have work (each at most
 * once), a cursor saying where the next lease starts, and the hosts paused until some time.
 *
 * The ring never looks inside an entry except through `isEmpty` (given at construction). Entries
 * that are empty when a lease walks past them are dropped from the ring and the map by the next
 * compaction, so both stay proportional to the hosts with queued work.
 */
export class HostRing<Q extends RingHost> {
  private readonly byHost = new Map<string, Q>();
  private readonly paused = new Map<string, number>();
  private ring: Q[] = [];
  private cursor = 0;
  private readonly isEmpty: (q: Q) => boolean;

  /** An empty ring; `isEmpty(q)` says whether q has no queued work (it must be side-effect free). */
  constructor(isEmpty: (q: Q) => boolean) {
    this.isEmpty = isEmpty;
  }

  /** The entry of `host`, or undefined when the host has none (never had work, or was compacted away). */
  get(host: string): Q | undefined {
    return this.byHost.get(host);
  }

  /**
   * The entry of `host`, created with `make(host)` (and remembered, not yet in the ring) when it
   * has none. The caller then adds its work to the entry and calls {@link join}.
   */
  entry(host: string, make: (host: string) => Q): Q {
    let q = this.byHost.get(host);
    if (q === undefined) {
      q = make(host);
      this.byHost.set(host, q);
    }
    return q;
  }

  /**
   * Puts `q` at the back of the ring unless it is in it already (then a no-op: a host is served
   * once per round however much work it has). The caller joins an entry only when it has work.
   */
  join(q: Q): void {
    if (q.inRing) return;
    q.inRing = true;
    this.ring.push(q);
  }

  /** Number of entries in the ring (including empty ones not yet compacted away). */
  get size(): number {
    return this.ring.length;
  }

  /**
   * Forgets every entry and pause and resets the cursor (the entries' inRing flags are left as
   * they are: the entries are dropped with the ring).
   */
  clear(): void {
    this.byHost.clear();
    this.paused.clear();
    this.ring = [];
    this.cursor = 0;
  }

  /** Makes {@link pick} skip `host` while `now < until`; `until` ≤ 0 unpauses. */
  pause(host: string, until: number): void {
    if (until > 0) this.paused.set(host, until);
    else this.paused.delete(host);
  }

  /**
   * One lease round over the ring. First the ring is walked once from the cursor, choosing up to
   * `max` hosts: empty entries are skipped (and counted for compaction), hosts paused past `now`
   * are skipped (a pause that has expired is forgotten), and the rest are chosen when
   * `ready(host)` is true (called at most once per host, in ring order; must be side-effect free).
   * Then the `max` slots are dealt round robin across the chosen hosts in ring order:
   * `take(q)` is called for one slot of q and returns whether q filled it; rounds repeat until
   * `max` slots are filled or a whole round fills none (a host whose take fails is still asked in
   * later rounds). The cursor moves to the host after the last one that filled a slot (or, when
   * none did, past the walked part of the ring), so the next call finishes a partial round first.
   * Finally the ring is compacted when it held empty entries or a chosen entry became empty.
   * Returns the chosen entries in ring order ([] when `max` ≤ 0 or the ring is empty, without
   * calling anything).
   */
  pick(max: number, now: number, ready: (host: string) => boolean, take: (q: Q) => boolean): Q[] {
    const ring = this.ring;
    if (max <= 0 || ring.length === 0) return [];
    const chosen: Q[] = [];
    const chosenAt: number[] = [];
    let dead = 0;
    let i = 0;
    for (; i < ring.length && chosen.length < max; i++) {
      const at = (this.cursor + i) % ring.length;
      const q = ring[at]!;
      if (this.isEmpty(q)) {
        dead++;
        continue;
      }
      const until = this.paused.get(q.host);
      if (until !== undefined) {
        if (until > now) continue;
        this.paused.delete(q.host);
      }
      if (ready(q.host)) {
        chosen.push(q);
        chosenAt.push(at);
      }
    }
    let next = (this.cursor + i) % ring.length;
    let left = max;
    for (let progress = true; left > 0 && progress; ) {
      progress = false;
      for (let c = 0; c < chosen.length && left > 0; c++) {
        if (!take(chosen[c]!)) continue;
        left--;
        progress = true;
        next = (chosenAt[c]! + 1) % ring.length;
      }
    }
    this.cursor = next;
    if (dead > 0 || chosen.some(this.isEmpty)) this.compact();
    return chosen;
  }

  /** Drops the empty entries from the ring and the map, keeping the cursor on the same entry. */
  private compact(): void {
    const at = this.ring[this.cursor];
    const live: Q[] = [];
    let cursor = 0;
    for (const q of this.ring) {
      if (q === at) cursor = live.length;
      if (!this.isEmpty(q)) live.push(q);
      else {
        q.inRing = false;
        this.byHost.delete(q.host);
      }
    }
    this.ring = live;
    this.cursor = live.length === 0 ? 0 : cursor % live.length;
  }
}
