import type { ItemEntry } from './item-sink.js';

/**
 * A scraped item cannot be written: JSON has no encoding for it (a BigInt, a cycle, a `toJSON`
 * that throws). The message names the page that pushed it. Thrown by an ItemSink's `write`
 * before any of that write's entries reach the output.
 */
export class ItemEncodingError extends Error {
  override readonly name = 'ItemEncodingError';
  /** The page whose handler pushed the item. */
  readonly url: string;

  constructor(url: string, detail: string) {
    super(`an item pushed on ${url} cannot be written as JSON: ${detail}`);
    this.url = url;
  }
}

/**
 * `JSON.stringify(value)` for a part of the item `entry` holds (the item itself, a nested
 * value, the CSV `_extra` object), as one line: JSON escapes every line break. Throws an
 * ItemEncodingError naming the page when JSON cannot encode it; undefined when JSON has no
 * value for it (undefined, a function, a symbol).
 */
export function toJson(entry: ItemEntry, value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new ItemEncodingError(entry.url, (err as Error).message);
  }
}

/** The item of `entry` as one JSON Lines line: exactly the pushed object's JSON, then `\n`. */
export function itemLine(entry: ItemEntry): string {
  const json = toJson(entry, entry.item);
  if (json === undefined) throw new ItemEncodingError(entry.url, 'its toJSON() returned nothing');
  return `${json}\n`;
}
