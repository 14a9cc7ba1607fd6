/**
 * Issue 10 §6: one rule for where a crawl's output and state may go, checked before anything is
 * opened or created (the CLI rows are in test/cli/usage.test.ts; these are the cases a command
 * line cannot easily show: links, non-directories, files of other applications).
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../src/crawl/state/state-db.js';
import { isTrawlStateFile, storagePathProblem } from '../../src/crawl/storage-paths.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'trawl-paths-'));
  dirs.push(d);
  return d;
}

describe('storagePathProblem', () => {
  it('accepts files in existing directories, and nothing given', () => {
    const d = tmp();
    expect(storagePathProblem({})).toBeNull();
    expect(storagePathProblem({ out: join(d, 'o.jsonl'), state: join(d, 's.db') })).toBeNull();
  });

  it('refuses a missing directory or a file standing where the directory should be, for both flags', () => {
    const d = tmp();
    writeFileSync(join(d, 'file'), 'x');
    expect(storagePathProblem({ state: join(d, 'no', 's.db') })).toMatch(
      /^--state .*: directory .*no does not exist/,
    );
    expect(storagePathProblem({ out: join(d, 'no', 'o.jsonl') })).toMatch(
      /^--out .*: directory .*no does not exist/,
    );
    expect(storagePathProblem({ out: join(d, 'file', 'o.jsonl') })).toMatch(
      /^--out .*file is not a directory/,
    );
  });

  it('refuses an output that is the state file, by path or through a link', () => {
    const d = tmp();
    const state = join(d, 's.db');
    expect(storagePathProblem({ out: state, state })).toMatch(/is the state file/);
    openState(state, { create: true, name: 'a', seeds: ['http://127.0.0.1/'] }).close();
    symlinkSync(state, join(d, 'link.db'));
    expect(storagePathProblem({ out: join(d, 'link.db'), state })).toMatch(/is the state file/);
  });

  it("refuses an output that is another crawl's state, but not another application's SQLite file", () => {
    const d = tmp();
    const other = join(d, 'other.db');
    openState(other, { create: true, name: 'b', seeds: ['http://127.0.0.1/'] }).close();
    expect(isTrawlStateFile(other)).toBe(true);
    expect(storagePathProblem({ out: other })).toMatch(/other\.db is a trawl state file/);
    const foreign = join(d, 'foreign.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(isTrawlStateFile(foreign)).toBe(false);
    expect(storagePathProblem({ out: foreign })).toBeNull();
    writeFileSync(join(d, 'text.jsonl'), '{}\n');
    expect(isTrawlStateFile(join(d, 'text.jsonl'))).toBe(false);
    expect(isTrawlStateFile(d)).toBe(false);
  });
});
