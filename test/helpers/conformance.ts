/**
 * Where the public conformance suites live: test/fixtures/conformance/, a copy of the project's
 * shared conformance data with its licenses (so a clone tests on its own, wherever it is).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/conformance.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Absolute path of the conformance folder. */
export const conformanceDir = path.resolve(repoRoot, 'test', 'fixtures', 'conformance');

/** Absolute path of one file (or folder) inside the conformance folder, e.g. `'url-wpt.json'`. */
export function conformancePath(...parts: string[]): string {
  return path.join(conformanceDir, ...parts);
}

/** Reads and parses a JSON file from the conformance folder; throws (failing the test) if missing. */
export function readConformanceJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(conformancePath(...parts), 'utf8')) as T;
}
