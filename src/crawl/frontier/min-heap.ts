/**
 * A binary min-heap ordered by a numeric key, ties broken by insertion order (so equal keys come
 * out FIFO). O(log n) push and pop, O(1) peek.
 */
export class MinHeap<T> {
  private keys: number[] = [];
  private seqs: number[] = [];
  private vals: T[] = [];
  private seq = 0;

  /** Number of items. */
  get size(): number {
    return this.vals.length;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  /** Inserts `val` with `key`. */
  push(key: number, val: T): void {
    const { keys, seqs, vals } = this;
    let i = vals.length;
    keys.push(key);
    seqs.push(this.seq++);
    vals.push(val);
    while (i > 0) {
      const p = (i - 1) >>> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes and returns the item with the smallest key (earliest pushed among equals); undefined when empty. */
  pop(): T | undefined {
    const { keys, seqs, vals } = this;
    const n = vals.length;
    if (n === 0) return undefined;
    const top = vals[0];
    const last = n - 1;
    this.swap(0, last);
    keys.pop();
    seqs.pop();
    vals.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    return ka < kb || (ka === kb && this.seqs[a]! < this.seqs[b]!);
  }

  private swap(a: number, b: number): void {
    const { keys, seqs, vals } = this;
    const k = keys[a]!;
    keys[a] = keys[b]!;
    keys[b] = k;
    const s = seqs[a]!;
    seqs[a] = seqs[b]!;
    seqs[b] = s;
    const v = vals[a]!;
    vals[a] = vals[b]!;
    vals[b] = v;
  }
}
