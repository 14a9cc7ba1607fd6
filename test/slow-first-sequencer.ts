import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The longest test files (seconds each on the 2-core CI machine, from a fresh-clone run), in
// that order. Vitest orders files by the durations it cached on earlier runs, and a fresh clone
// (CI) has no cache: it then runs larger files first, so a long but small file could start
// last and leave one worker busy alone for minutes. Listed files start first; the rest follow
// in Vitest's own order.
const SLOW_FIRST = [
  'test/render/render-memory.test.ts',
  'test/cli/resume-items.test.ts',
  'test/render/render-crawl.test.ts',
  'test/redis/cluster.test.ts',
  'test/cli/run.test.ts',
  'test/render/browser-pool.test.ts',
  'test/cli/resume.test.ts',
  'test/render/render-page.test.ts',
  'test/cli/usage.test.ts',
  'test/cli/resume-login.test.ts',
  'test/cli/resume-render.test.ts',
  'test/cli/commands.test.ts',
];

/** Vitest's sequencer with the known-slow files moved to the front. */
export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.indexOf(relative(f.project.config.root, f.moduleId));
      return i === -1 ? SLOW_FIRST.length : i;
    };
    // Array.prototype.sort is stable: unlisted files keep Vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
