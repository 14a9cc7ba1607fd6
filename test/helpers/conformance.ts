/**
 * Where the public conformance suites live: `shared/conformance/` beside the repository (the
 * developers' tree has /work/main and /work/shared; CI clones the repo elsewhere with a copy of
 * shared/ beside it). Always resolved from the repository root's parent, never from the cwd.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/conformance.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the shared conformance folder. */
export const conformanceDir = path.resolve(repoRoot, '..', 'shared', 'conformance');

/** Absolute path of one file (or folder) inside the conformance folder, e.g. `'url-wpt.json'`. */
export function conformancePath(...parts: string[]): string {
  return path.join(conformanceDir, ...parts);
}

/** Reads and parses a JSON file from the conformance folder; throws (failing the test) if missing. */
export function readConformanceJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(conformancePath(...parts), 'utf8')) as T;
}
