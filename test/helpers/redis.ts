import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server started for a test: its URL, a client, and restart/stop. */
export interface TestRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** A plain client for assertions (no reconnect tricks). */
  client(): Redis;
  /** Kills the server (SIGKILL by default) and starts it again on the same port and data dir. */
  restart(opts?: { downMs?: number; signal?: NodeJS.Signals }): Promise<void>;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    c.on('error', () => {});
    try {
      await c.connect();
      const info = await c.info('persistence');
      if (/loading:0/.test(info)) return;
    } catch {
      // not up yet
    } finally {
      c.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

/**
 * Starts `/usr/bin/redis-server` on a free 127.0.0.1 port with a temp data dir, persistence on
 * (AOF, fsync always: an acknowledged write survives a SIGKILL) and no RDB snapshots.
 */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trawl-redis-'));
  let proc: ChildProcess | null = null;
  const clients: Redis[] = [];
  const launch = async () => {
    proc = spawn(
      '/usr/bin/redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
        '--logfile',
        join(dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    await waitReady(port, 10_000);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  };
  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}/0`,
    client() {
      const c = new Redis({ port, host: '127.0.0.1' });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async restart(opts = {}) {
      await kill(opts.signal ?? 'SIGKILL');
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await launch();
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
