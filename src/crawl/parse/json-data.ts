/**
 * What "JSON data" means for items and userData: values that survive both a structured clone
 * (to the main thread) and JSON (the state file, the items output) unchanged.
 */

/**
 * Null when `value` is JSON data, else a one-line problem naming where (`.a.b[2]`): allowed are
 * null, booleans, finite numbers, strings, arrays and plain objects (prototype Object.prototype
 * or null) of them. Refused: undefined in an array (JSON turns it into null) or at the top,
 * functions, symbols, bigints, NaN and ±Infinity (JSON turns them into null), other objects
 * (Date, Map, class instances: JSON and structured clone disagree on them), and cycles. An
 * object property whose value is undefined is allowed: both JSON and the output drop it.
 */
export function jsonDataProblem(value: unknown, path = ''): string | null {
  return check(value, path, new Set());
}

function check(v: unknown, path: string, open: Set<object>): string | null {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(v) ? null : `${String(v)} at ${where(path)} is not JSON`;
    case 'object':
      break;
    default:
      return `${typeof v} at ${where(path)} is not JSON`;
  }
  if (v === null) return null;
  if (open.has(v)) return `a cycle at ${where(path)}`;
  open.add(v);
  try {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const p = check(v[i], `${path}[${i}]`, open);
        if (p !== null) return p;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `a ${name} at ${where(path)} is not a plain object (JSON data only)`;
    }
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const p = check(x, `${path}.${k}`, open);
      if (p !== null) return p;
    }
    return null;
  } finally {
    open.delete(v);
  }
}

const where = (path: string): string => (path === '' ? 'the top' : path);
