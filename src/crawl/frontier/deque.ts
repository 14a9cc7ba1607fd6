/**
 * A growable ring-buffer FIFO: O(1) amortized `push` and O(1) `shift` (unlike Array#shift, which
 * is O(n) once V8 stops using its fast path on large arrays). Capacity doubles when full and
 * never shrinks below 16 slots; a drained queue halves when it is at most a quarter full so a
 * burst does not pin memory.
 */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;

  /** An empty queue with room for `capacity` items (rounded up to a power of two, ≥ 16). */
  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.buf = new Array<T | undefined>(cap);
  }

  /** Number of items. */
  get length(): number {
    return this.len;
  }

  /** Appends at the back. */
  push(item: T): void {
    if (this.len === this.buf.length) this.resize(this.buf.length * 2);
    this.buf[(this.head + this.len) & (this.buf.length - 1)] = item;
    this.len++;
  }

  /** Removes and returns the front item; undefined when empty. */
  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.len--;
    if (this.buf.length > 16 && this.len <= this.buf.length >>> 2) this.resize(this.buf.length >>> 1);
    return item;
  }

  /** The front item without removing it; undefined when empty. */
  peek(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  private resize(cap: number): void {
    const next = new Array<T | undefined>(cap);
    const mask = this.buf.length - 1;
    for (let i = 0; i < this.len; i++) next[i] = this.buf[(this.head + i) & mask];
    this.buf = next;
    this.head = 0;
  }
}
