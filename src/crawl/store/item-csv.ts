import type { Item } from '../record.js';
import { csvField, FORMULA_START } from './csv-sink.js';
import { toJson } from './item-json.js';
import type { ItemEntry } from './item-sink.js';

/**
 * The last column of every items CSV: the fields of an item that are not columns (the first
 * item fixed the columns), as one JSON object; empty when there are none.
 */
export const EXTRA_COLUMN = '_extra';

/** A column name the formula guard prefixes: a formula start after any number of `'`. */
const NAME_TO_GUARD = /^'*[=+\-@\t\r]/;
/** A guarded column name, as read back. */
const GUARDED_NAME = /^'+[=+\-@\t\r]/;

/**
 * The header row (CRLF included) for `columns` followed by `_extra`, quoted per RFC 4180 (see
 * csvField). With `guard` a name that would start a formula gets a leading `'` as data cells do;
 * a name already starting with `'`s before a formula character gets one more, so the guard can
 * be undone exactly when the header is read back (parseItemCsvHeader).
 */
export function itemCsvHeader(columns: readonly string[], guard: boolean): string {
  let row = '';
  for (const c of columns) row += `${csvField(guard && NAME_TO_GUARD.test(c) ? `'${c}` : c)},`;
  return `${row}${EXTRA_COLUMN}\r\n`;
}

/**
 * One CSV cell for an item's value: absent, undefined or null → empty; a string as it is (with
 * `guard`, one starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, as in the records'
 * CSV); a number, boolean or BigInt as JavaScript prints it (never guarded, so `-3` stays a
 * number); an array or object as its JSON (a value with `toJSON`, such as a Date, is first
 * replaced by what it returns); a function or symbol, which JSON has no value for, → empty.
 */
function cell(entry: ItemEntry, v: unknown, guard: boolean): string {
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof v) {
    case 'string':
      return guard && FORMULA_START.test(v) ? `'${v}` : v;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'object':
      return v === null ? '' : (toJson(entry, v) ?? '');
    default:
      return '';
  }
}

/**
 * One data row (CRLF included) of `entry.item` under `columns` (`columnSet` holds the same
 * names): one cell per column (see `cell`; a column the item lacks is empty), then the `_extra`
 * cell with the item's other fields as a JSON object (fields JSON drops, undefined, functions
 * and symbols, are dropped), empty when there are none (written `""` when it is the only cell, so
 * the row is not a blank line). Throws an ItemEncodingError when a value
 * cannot be encoded as JSON.
 */
export function itemCsvRow(
  entry: ItemEntry,
  columns: readonly string[],
  columnSet: ReadonlySet<string>,
  guard: boolean,
): string {
  const item: Item = entry.item;
  let row = '';
  for (const c of columns) row += `${csvField(Object.hasOwn(item, c) ? cell(entry, item[c], guard) : '')},`;
  // A null-prototype object, so a field named `__proto__` is kept as a field.
  const extra: Record<string, unknown> = Object.create(null);
  let extras = false;
  for (const k of Object.keys(item)) {
    if (!columnSet.has(k)) {
      extra[k] = item[k];
      extras = true;
    }
  }
  const json = extras ? toJson(entry, extra) : undefined;
  const last = json === undefined || json === '{}' ? '' : json;
  // With no columns a row of one empty cell would be a blank line, which many readers skip.
  return `${row}${columns.length === 0 && last === '' ? '""' : csvField(last)}\r\n`;
}

/**
 * The columns of an items CSV from its header row (`text`, the row without its CRLF), as
 * itemCsvHeader wrote it: the fields per RFC 4180, the last of which must be `_extra`, with the
 * formula guard undone when `guard` is set. Returns a one-line problem instead when the text is
 * not such a header.
 */
export function parseItemCsvHeader(text: string, guard: boolean): string[] | string {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return 'its header has an unterminated quoted field';
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      let end = text.indexOf(',', i);
      if (end < 0) end = text.length;
      field = text.slice(i, end);
      if (/["\r\n]/.test(field)) return 'its header has a stray quote or line break';
      i = end;
    }
    fields.push(field);
    if (i === text.length) break;
    if (text[i] !== ',') return 'its header has text after a quoted field';
    i++;
  }
  if (fields.pop() !== EXTRA_COLUMN) return `its header does not end with the ${EXTRA_COLUMN} column`;
  return guard ? fields.map((f) => (GUARDED_NAME.test(f) ? f.slice(1) : f)) : fields;
}
