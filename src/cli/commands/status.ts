import { UsageError } from '../../crawl/options.js';
import { connectRedis, redactUrl } from '../../crawl/redis/connect.js';
import { formatRedisStatus, readRedisStatus } from '../../crawl/redis/redis-status.js';

/** The flags of `trawl status`. */
export interface StatusFlags {
  json: boolean;
  redis?: string;
  name?: string;
}

/**
 * `trawl status STATE` and `trawl status --redis URL --name NAME`: one command, two sources.
 * With a state file it prints that crawl's progress (state.ts's runStatus); with --redis the
 * distributed crawl's: queued/leased/done/failed/seen, the live processes and their leases, and
 * the shared options in force (`--json`: the RedisCrawlStatus object). Both work while the crawl
 * runs. Refused (UsageError, exit 2, one line) before any connection: both sources or neither,
 * --redis without --name, --name without --redis; after connecting: no crawl of that name.
 * Redis unreachable is a RedisConnectError (exit 2). Resolves with the exit code.
 */
export async function runStatusCommand(state: string | undefined, flags: StatusFlags): Promise<number> {
  if (flags.redis === undefined) {
    if (flags.name !== undefined) throw new UsageError('--name needs --redis (a state file holds one crawl)');
    if (state === undefined) throw new UsageError('status needs a state file, or --redis URL --name NAME');
    return (await import('./state.js')).runStatus(state, flags);
  }
  if (state !== undefined) throw new UsageError('give a state file or --redis, not both');
  const name = flags.name;
  if (!name) throw new UsageError('trawl status --redis needs --name NAME');
  const where = redactUrl(flags.redis);
  const client = await connectRedis(flags.redis);
  try {
    const status = await readRedisStatus(client, name);
    if (status === null) throw new UsageError(`no crawl named "${name}" at ${where}`);
    process.stdout.write(
      flags.json ? `${JSON.stringify(status, infAsString)}\n` : formatRedisStatus(status, where),
    );
    return 0;
  } finally {
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  }
}

/** JSON has no Infinity (it would print null): unlimited values print as "inf", as the flags say. */
function infAsString(_k: string, v: unknown): unknown {
  return v === Number.POSITIVE_INFINITY ? 'inf' : v;
}
