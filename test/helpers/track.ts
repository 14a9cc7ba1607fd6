/** A promise's state, readable synchronously. */
export interface Tracked<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
  /** Resolves (never rejects) once the promise has settled. */
  done: Promise<void>;
}

/** Tracks a promise's state without awaiting it (to assert that something is still blocked). */
export function track<T>(p: Promise<T>): Tracked<T> {
  const s: Tracked<T> = { settled: false, done: Promise.resolve() };
  s.done = p.then(
    (v) => {
      s.settled = true;
      s.value = v;
    },
    (e) => {
      s.settled = true;
      s.error = e;
    },
  );
  return s;
}
