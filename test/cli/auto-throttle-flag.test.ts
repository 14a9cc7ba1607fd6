import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addCrawlFlags, type CrawlFlagValues, toCrawlOptions } from '../../src/cli/crawl-flags.js';
import { resolveOptions, UsageError } from '../../src/crawl/options.js';

/** The crawl options the CLI makes of `args` (in process: commander, then toCrawlOptions). */
function parse(args: string[]) {
  const cmd = addCrawlFlags(new Command().exitOverride().argument('[urls...]'));
  cmd.parse(['http://127.0.0.1:1/', ...args], { from: 'user' });
  return toCrawlOptions(['http://127.0.0.1:1/'], cmd.opts<CrawlFlagValues>());
}

describe('--auto-throttle', () => {
  it('is off by default and on when given', () => {
    expect(parse([]).autoThrottle).toBe(false);
    expect(parse(['--auto-throttle', '--host-concurrency', '64'])).toMatchObject({
      autoThrottle: true,
      hostConcurrency: 64,
    });
    expect(resolveOptions({ seeds: ['http://127.0.0.1:1/'] }).autoThrottle).toBe(false);
  });

  it('is listed in --help', () => {
    const help = addCrawlFlags(new Command()).helpInformation();
    expect(help).toMatch(/--auto-throttle\s+adapt each host's concurrency/);
  });

  it('refuses a value that is not a boolean from code, naming the option', () => {
    const bad = { seeds: ['http://127.0.0.1:1/'], autoThrottle: 'yes' as unknown as boolean };
    expect(() => resolveOptions(bad)).toThrow(UsageError);
    expect(() => resolveOptions(bad)).toThrow(/autoThrottle must be true or false \(got "yes"\)/);
  });
});
