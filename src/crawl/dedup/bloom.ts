/**
 * A Bloom filter over strings: a compact, probabilistic "have I seen this?" that never answers
 * "no" for a string it was given, and answers "yes" for a string it was not given with about the
 * configured probability.
 */

const MAGIC = 0x4d4c4254; // "TBLM" read little-endian
const VERSION = 1;
const HEADER_BYTES = 16;
/** Largest bit count: indexes are computed in 32-bit arithmetic. */
const MAX_BITS = 2 ** 32 - 32;

/** Rotate left a 32-bit value. */
const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** MurmurHash3's 32-bit finalizer: full avalanche so double hashing gets independent-looking bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Scratch outputs of hash2 so the hot path allocates nothing.
let H1 = 0;
let H2 = 0;

/**
 * Two 32-bit hashes of `s`'s UTF-16 code units in one pass: FNV-1a and a MurmurHash3-style
 * mix, each finalized with fmix32. Results in H1/H2; H2 is forced odd so the probe stride
 * `H2 mod bits` is never 0 for power-of-two sizes.
 */
function hash2(s: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    let k = Math.imul(c, 0xcc9e2d51);
    k = Math.imul(rotl(k, 15), 0x1b873593);
    b = Math.imul(rotl(b ^ k, 13), 5) + 0xe6546b64;
  }
  H1 = fmix32(a ^ s.length);
  H2 = (fmix32(b ^ s.length) | 1) >>> 0;
}

/**
 * A fixed-size Bloom filter of strings, sized for an expected number of items and a target
 * false-positive rate with the standard formulas `bits = ceil(-n·ln p / ln²2)` (rounded up to a
 * multiple of 32) and `hashes = max(1, round(bits/n · ln 2))`. Probe positions use
 * Kirsch–Mitzenmacher double hashing `h1 + i·h2 (mod bits)` over two 32-bit hashes of the
 * string's UTF-16 code units, so a lookup costs one pass over the string plus `hashes` bit
 * tests, and allocates nothing.
 *
 * The filter does not grow: adding far more than `expectedItems` raises the false-positive rate
 * above the target (it never produces false negatives).
 */
export class BloomFilter {
  #bits: number;
  #hashes: number;
  #words: Uint32Array;

  /**
   * Creates an empty filter for about `expectedItems` strings (at least 1 is assumed) at a
   * false-positive rate of `falsePositiveRate`, which must be strictly between 0 and 1. Throws a
   * RangeError for a rate outside (0, 1), a non-finite item count, or a size above 2^32-32 bits
   * (512 MiB).
   */
  constructor(expectedItems: number, falsePositiveRate: number) {
    if (!(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new RangeError(`BloomFilter: falsePositiveRate must be in (0, 1), got ${falsePositiveRate}`);
    }
    if (!Number.isFinite(expectedItems)) {
      throw new RangeError(`BloomFilter: expectedItems must be finite, got ${expectedItems}`);
    }
    const n = Math.max(1, Math.ceil(expectedItems));
    const raw = Math.ceil((-n * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2));
    const bits = Math.max(32, Math.ceil(raw / 32) * 32);
    if (bits > MAX_BITS) throw new RangeError(`BloomFilter: ${bits} bits exceed the maximum of ${MAX_BITS}`);
    this.#bits = bits;
    this.#hashes = Math.max(1, Math.round((bits / n) * Math.LN2));
    this.#words = new Uint32Array(bits / 32);
  }

  /** Size of the bit array. */
  get bits(): number {
    return this.#bits;
  }

  /** Number of probe positions per string. */
  get hashes(): number {
    return this.#hashes;
  }

  /** Adds `s`. Afterwards `has(s)` is true forever. */
  add(s: string): void {
    hash2(s);
    const words = this.#words;
    const m = this.#bits;
    let h = H1;
    for (let i = 0; i < this.#hashes; i++) {
      const bit = h % m;
      words[bit >>> 5]! |= 1 << (bit & 31);
      h = (h + H2) >>> 0;
    }
  }

  /**
   * False when `s` was certainly never added; true when it was added or, with about the
   * configured probability for a filter holding its expected number of items, by accident.
   */
  has(s: string): boolean {
    hash2(s);
    const words = this.#words;
    const m = this.#bits;
    let h = H1;
    for (let i = 0; i < this.#hashes; i++) {
      const bit = h % m;
      if ((words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
      h = (h + H2) >>> 0;
    }
    return true;
  }

  /**
   * The fraction of bits set, in [0, 1]. The expected false-positive rate is about
   * `fillRatio ** hashes`.
   */
  fillRatio(): number {
    let set = 0;
    for (const w of this.#words) {
      let v = w - ((w >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      set += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
    }
    return set / this.#bits;
  }

  /**
   * Serializes the filter: a 16-byte header (magic, format version, bits, hashes; little-endian
   * u32s) followed by the bit array as little-endian u32 words. {@link BloomFilter.fromBuffer}
   * restores an equal filter on any platform.
   */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(HEADER_BYTES + this.#words.length * 4);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(VERSION, 4);
    out.writeUInt32LE(this.#bits, 8);
    out.writeUInt32LE(this.#hashes, 12);
    const words = this.#words;
    for (let i = 0; i < words.length; i++) out.writeUInt32LE(words[i]!, HEADER_BYTES + i * 4);
    return out;
  }

  /**
   * Restores a filter written by {@link BloomFilter.toBuffer}. Throws an Error when the bytes are
   * not such a filter (wrong magic or version, inconsistent length or sizes).
   */
  static fromBuffer(buf: Uint8Array): BloomFilter {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length < HEADER_BYTES || b.readUInt32LE(0) !== MAGIC)
      throw new Error('BloomFilter.fromBuffer: not a bloom filter');
    if (b.readUInt32LE(4) !== VERSION)
      throw new Error(`BloomFilter.fromBuffer: unsupported version ${b.readUInt32LE(4)}`);
    const bits = b.readUInt32LE(8);
    const hashes = b.readUInt32LE(12);
    if (
      bits === 0 ||
      bits % 32 !== 0 ||
      bits > MAX_BITS ||
      hashes === 0 ||
      b.length !== HEADER_BYTES + bits / 8
    ) {
      throw new Error('BloomFilter.fromBuffer: corrupt header or truncated data');
    }
    const f = new BloomFilter(1, 0.5);
    f.#bits = bits;
    f.#hashes = hashes;
    const words = new Uint32Array(bits / 32);
    for (let i = 0; i < words.length; i++) words[i] = b.readUInt32LE(HEADER_BYTES + i * 4);
    f.#words = words;
    return f;
  }
}
