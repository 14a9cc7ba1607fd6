import { MinHeap } from './min-heap.js';

/** An entry in no list of its ring: made and not joined yet, or dropped by compaction. */
export const OUT = 0;
/** In the rotation: looked at by the next leases in ring order. */
const ROTATING = 1;
/** Out of the rotation until a time (in the ring's heap of sleepers). */
const SLEEPING = 2;
/** Out of the rotation until {@link HostRing.wake} (in the ring's set of blocked entries). */
const BLOCKED = 3;

/** Where a {@link RingHost} is: {@link OUT} or one of the ring's three lists. */
export type RingPlace = typeof OUT | typeof ROTATING | typeof SLEEPING | typeof BLOCKED;

/** What a {@link HostRing} needs of a host's queue: its name and two fields the ring owns. */
export interface RingHost {
  readonly host: string;
  /** Where the entry is; {@link OUT} when made, then set by the ring only. */
  place: RingPlace;
  /** While sleeping, the time it is due back in the rotation; set by the ring only. */
  wakeAt: number;
}

/**
 * The round-robin ring of hosts with queued work that both local frontiers lease from: a map
 * from host name to the frontier's per-host entry `Q`, and three places an entry with work can
 * be, so that a lease looks only at hosts that may go:
 *
 * - the rotation, in ring order with a cursor saying where the next lease starts;
 * - asleep until a time (a min-heap): the host said when it may go, or it is paused (see
 *   {@link pause}); it rejoins the rotation, at the back, in the first {@link pick} at or after
 *   that time, without being asked before;
 * - blocked (a set): the host said only an event can let it go (robots.txt pending, its
 *   concurrency cap full); it rejoins the rotation, at the back, when the caller reports that
 *   event with {@link wake}, and never by itself.
 *
 * So a lease costs the hosts it looks at in the rotation plus O(log n) per sleeper that comes
 * due, whatever the number of hosts asleep or blocked. The ring never looks inside an entry
 * except through `isEmpty` (given at construction). Entries that are empty when a lease walks
 * past them, and the holes hosts leave in the rotation, are dropped by a compaction once they
 * make up half of it (amortized O(1) per entry), so the rotation and the map stay proportional
 * to the hosts with queued work; an entry asleep or blocked stays in the map with its place
 * until it comes back (a frontier's `queued` count does not depend on where its hosts are).
 */
export class HostRing<Q extends RingHost> {
  private readonly byHost = new Map<string, Q>();
  private readonly paused = new Map<string, number>();
  /** The rotation in ring order; null where an entry left it (a hole, dropped by compaction). */
  private ring: (Q | null)[] = [];
  private holes = 0;
  private cursor = 0;
  /** Sleepers by due time; an entry whose place or wakeAt changed since its push is stale. */
  private sleepers = new MinHeap<Q>();
  private sleepingN = 0;
  private readonly blockedSet = new Set<Q>();
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
   * Puts `q` at the back of the rotation when it is in none of the ring's places; a no-op when
   * it is in the rotation already (a host is served once per round however much work it has),
   * asleep (it comes back at its time) or blocked (it comes back on {@link wake}): new work does
   * not make a host ready. The caller joins an entry only when it has work.
   */
  join(q: Q): void {
    if (q.place === OUT) this.rotate(q);
  }

  /** Number of entries in the rotation (including empty ones not yet compacted away). */
  get size(): number {
    return this.ring.length - this.holes;
  }

  /** Number of entries asleep until a time. */
  get sleeping(): number {
    return this.sleepingN;
  }

  /** Number of entries blocked until {@link wake}. */
  get blocked(): number {
    return this.blockedSet.size;
  }

  /**
   * When a lease may next find a host here by time alone: 0 when an entry in the rotation has
   * work (a lease may take it now); else the earliest time a sleeper is due back (possibly a
   * little early: a stale heap entry only makes the caller look once more); undefined when no
   * host with work is in the rotation or asleep (none, or all blocked: only {@link wake} frees
   * them). Costs the rotation's length, not the hosts asleep or blocked; after a lease that found
   * nothing the rotation holds only entries without work.
   */
  dueAt(): number | undefined {
    for (const q of this.ring) if (q !== null && !this.isEmpty(q)) return 0;
    return this.sleepers.peekKey();
  }

  /** The hosts blocked until {@link wake}, in no particular order (O(blocked): for checks). */
  blockedHosts(): string[] {
    return Array.from(this.blockedSet, (q) => q.host);
  }

  /**
   * Forgets every entry, sleeper, blocked host and pause and resets the cursor (the entries'
   * places are left as they are: the entries are dropped with the ring).
   */
  clear(): void {
    this.byHost.clear();
    this.paused.clear();
    this.ring = [];
    this.holes = 0;
    this.cursor = 0;
    this.sleepers = new MinHeap<Q>();
    this.sleepingN = 0;
    this.blockedSet.clear();
  }

  /**
   * Makes {@link pick} skip `host` while `now < until`; `until` ≤ 0 unpauses. A pause is kept by
   * host name, so it holds for work the host gets later too. The host's entry, if it has one,
   * learns of it when a lease next walks past it (it then sleeps until `until`, unasked); an
   * entry asleep until later than a new `until` (or asleep at all, when unpausing) comes back at
   * `until` (or now) and is asked again then, so a shortened or cleared pause takes effect at once.
   */
  pause(host: string, until: number): void {
    if (until > 0) this.paused.set(host, until);
    else this.paused.delete(host);
    const q = this.byHost.get(host);
    if (q === undefined || q.place !== SLEEPING) return;
    if (until <= 0) {
      this.sleepingN--;
      this.rotate(q); // its heap entry goes stale
    } else if (until < q.wakeAt) {
      q.wakeAt = until; // the earlier heap entry goes stale
      this.sleepers.push(until, q);
    }
  }

  /**
   * Reports an event that may let `host` go (a request of it finished, its robots.txt settled,
   * its concurrency cap grew...): a blocked host rejoins the rotation at the back and is asked
   * again by the next lease. Returns whether it did. A no-op (false) for a host the ring does
   * not know, one in the rotation, and one asleep — its time never moves earlier by an event in
   * the engine (see HostTable.readyAt), and it comes back then by itself.
   */
  wake(host: string): boolean {
    const q = this.byHost.get(host);
    if (q === undefined || q.place !== BLOCKED) return false;
    this.blockedSet.delete(q);
    this.rotate(q);
    return true;
  }

  /**
   * One lease round. First the sleepers due at `now` (wakeAt ≤ now) rejoin the back of the
   * rotation, earliest first. Then the rotation is walked once from the cursor, choosing up to
   * `max` hosts: empty entries are skipped (and counted for compaction); a host paused past `now`
   * goes to sleep until its pause ends, unasked (a pause that has expired is forgotten); every
   * other host is asked `readyAt(host)` (at most once per call, in ring order; it must be
   * side-effect free): an answer ≤ `now` chooses it, a finite one > `now` puts it to sleep until
   * then, and Infinity (or NaN) blocks it until {@link wake}. Then the `max` slots are dealt
   * round robin across the chosen hosts in ring order: `take(q)` is called for one slot of q and
   * returns whether q filled it; rounds repeat until `max` slots are filled or a whole round
   * fills none (a host whose take fails is still asked in later rounds). Chosen hosts stay in the
   * rotation. The cursor moves to the host after the last one that filled a slot (or, when none
   * did, past the walked part of the ring), so the next call finishes a partial round first.
   * Finally the rotation is compacted when its holes and the empty entries seen make up half of
   * it. Returns the chosen entries in ring order ([] when `max` ≤ 0, without calling anything,
   * or when nothing is in the rotation).
   */
  pick(max: number, now: number, readyAt: (host: string) => number, take: (q: Q) => boolean): Q[] {
    if (max <= 0) return [];
    this.wakeDue(now);
    const ring = this.ring;
    const n = ring.length;
    if (n === this.holes) {
      if (n > 0) this.compact();
      return [];
    }
    const chosen: Q[] = [];
    const chosenAt: number[] = [];
    let dead = 0;
    let i = 0;
    for (; i < n && chosen.length < max; i++) {
      let at = this.cursor + i;
      if (at >= n) at -= n;
      const q = ring[at];
      if (q === null) continue;
      if (this.isEmpty(q)) {
        dead++;
        continue;
      }
      const until = this.paused.get(q.host);
      if (until !== undefined) {
        if (until > now) {
          ring[at] = null;
          this.holes++;
          this.sleep(q, until);
          continue;
        }
        this.paused.delete(q.host);
      }
      const t = readyAt(q.host);
      if (t <= now) {
        chosen.push(q);
        chosenAt.push(at);
        continue;
      }
      ring[at] = null;
      this.holes++;
      if (t < Number.POSITIVE_INFINITY) this.sleep(q, t);
      else {
        q.place = BLOCKED;
        this.blockedSet.add(q);
      }
    }
    let next = (this.cursor + i) % n;
    let left = max;
    for (let progress = true; left > 0 && progress; ) {
      progress = false;
      for (let c = 0; c < chosen.length && left > 0; c++) {
        if (!take(chosen[c]!)) continue;
        left--;
        progress = true;
        next = (chosenAt[c]! + 1) % n;
      }
    }
    this.cursor = next;
    for (const q of chosen) if (this.isEmpty(q)) dead++;
    if ((this.holes + dead) * 2 >= n) this.compact();
    return chosen;
  }

  /** Moves the sleepers due at `now` to the back of the rotation (stale heap entries are dropped). */
  private wakeDue(now: number): void {
    const heap = this.sleepers;
    for (let key = heap.peekKey(); key !== undefined && key <= now; key = heap.peekKey()) {
      const q = heap.pop()!;
      if (q.place !== SLEEPING || q.wakeAt !== key) continue;
      this.sleepingN--;
      this.rotate(q);
    }
  }

  private rotate(q: Q): void {
    q.place = ROTATING;
    this.ring.push(q);
  }

  private sleep(q: Q, until: number): void {
    q.place = SLEEPING;
    q.wakeAt = until;
    this.sleepers.push(until, q);
    this.sleepingN++;
  }

  /**
   * Drops the holes and the empty entries from the rotation (and the empty entries from the map),
   * keeping the cursor on the first entry kept at or after it.
   */
  private compact(): void {
    const live: Q[] = [];
    let cursor = 0;
    for (let at = 0; at < this.ring.length; at++) {
      if (at === this.cursor) cursor = live.length;
      const q = this.ring[at];
      if (q === null) continue;
      if (!this.isEmpty(q)) live.push(q);
      else {
        q.place = OUT;
        this.byHost.delete(q.host);
      }
    }
    this.ring = live;
    this.holes = 0;
    this.cursor = live.length === 0 ? 0 : cursor % live.length;
  }
}
