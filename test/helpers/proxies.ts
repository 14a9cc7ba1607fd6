/**
 * Real proxies for tests: Debian's `tinyproxy` (an HTTP proxy; trawl tunnels through it with
 * CONNECT) and `microsocks` (a SOCKS5 proxy), each started on a free 127.0.0.1 port with a
 * generated configuration in its own temp dir, optionally with user/password authentication.
 *
 * Usage:
 *
 * ```ts
 * const proxy = await startTinyproxy({ auth: { user: 'u', pass: 'p' } }); // or startMicrosocks()
 * // proxy.url      → 'http://u:p@127.0.0.1:40123' (give it to --proxy / parseProxyUrl)
 * // proxy.display  → 'http://127.0.0.1:40123' (what trawl shows)
 * await crawlThrough(proxy.url);
 * expect(await proxy.waitRequests(3)).toEqual(['CONNECT 127.0.0.1:8080', ...]);
 * await proxy.kill();  // SIGKILL: a proxy that went away (port now refuses)
 * await proxy.stop();  // kill (if alive) and remove its temp dir; call it in afterEach/afterAll
 * ```
 *
 * A proxy a test forgets to stop is killed when the test process exits.
 *
 * `requests()` is the proxy's own account, read from its log: every tunnel or request it was
 * asked for, oldest first, as `CONNECT host:port` (tinyproxy also lists plain forward requests
 * as `GET http://...`). tinyproxy logs a request when it reads it, so its list includes requests
 * it then refused (407, unreachable target); microsocks logs only tunnels it established. So a
 * test proving "every request went through the proxy" compares the site's request count with
 * the proxy's list; a test proving "nothing went through" expects an empty list.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

/** A proxy process started for a test. */
export interface TestProxy {
  readonly kind: 'tinyproxy' | 'microsocks';
  /** The proxy URL with credentials when started with `auth` (`http://u:p@127.0.0.1:N` / `socks5://...`). */
  readonly url: string;
  /** `scheme://127.0.0.1:N`, no credentials: what trawl must show for this proxy. */
  readonly display: string;
  readonly port: number;
  /** The temp dir holding its config and log. */
  readonly dir: string;
  /** The proxy process id. */
  readonly pid: number;
  /**
   * True when the TCP socket whose local end is 127.0.0.1:`port` belongs to the proxy process
   * (read from /proc/net/tcp and /proc/PID/fd). A test server calls it with its connection's
   * `remotePort`, while the connection is open, to prove the connection came from the proxy and
   * not directly from trawl.
   */
  ownsSocket(port: number): boolean;
  /** Requests the proxy has logged so far, oldest first (see the module comment for the format). */
  requests(): string[];
  /**
   * Waits until at least `n` requests are logged (microsocks' log arrives through a pipe, so it
   * may trail the response by a moment) and returns them all; gives up after `timeoutMs`
   * (default 5000) and returns what there is, so the test's assertion reports the difference.
   */
  waitRequests(n: number, timeoutMs?: number): Promise<string[]>;
  /** Kills the process (SIGKILL by default) and waits for it to exit. No-op when it is not running. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills the process and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options of the proxy starters. */
export interface ProxyOptions {
  /** Require this user name and password (tinyproxy: BasicAuth; microsocks: RFC 1929). */
  auth?: { user: string; pass: string };
}

/** Proxies still running; killed when the test process exits, so a failed test leaks none. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Registers a started proxy for cleanup: killed at process exit, and — since vitest may end a
 * worker without running exit handlers — by a watchdog (`tail --pid` waits for this process to
 * die, then SIGKILLs the proxy), itself ended when the proxy exits first.
 */
function track(proc: ChildProcess): ChildProcess {
  live.add(proc);
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'tail --pid="$1" -f /dev/null; kill -9 "$2" 2>/dev/null',
      'watchdog',
      String(process.pid),
      String(proc.pid),
    ],
    { stdio: 'ignore' },
  );
  watchdog.unref();
  proc.once('exit', () => {
    live.delete(proc);
    watchdog.kill('SIGKILL');
  });
  return proc;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after timeoutMs or when the process exits. */
async function waitListening(
  port: number,
  proc: ChildProcess,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`${what} exited before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether process `pid` holds the TCP socket bound locally to 127.0.0.1:port. */
export function processOwnsPort(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[9] !== undefined && f[9] !== '0') inodes.add(f[9]);
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null && inodes.has(m[1]!)) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

function makeProxy(
  kind: TestProxy['kind'],
  scheme: 'http' | 'socks5',
  port: number,
  dir: string,
  proc: ChildProcess,
  auth: ProxyOptions['auth'],
  read: () => string[],
): TestProxy {
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };
  const cred = auth === undefined ? '' : `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@`;
  return {
    kind,
    port,
    dir,
    url: `${scheme}://${cred}127.0.0.1:${port}`,
    display: `${scheme}://127.0.0.1:${port}`,
    pid: proc.pid!,
    ownsSocket: (p) => processOwnsPort(proc.pid!, p),
    requests: read,
    async waitRequests(n, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (read().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return read();
    },
    kill,
    async stop() {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `/usr/bin/tinyproxy -d -c CONF` (foreground) on a free 127.0.0.1 port. The config:
 * `Listen 127.0.0.1`, `Allow 127.0.0.1`, no `ConnectPort` lines (CONNECT to any port is allowed),
 * `MaxClients 100`, `Timeout 30`, `LogLevel Connect` into `<dir>/tinyproxy.log` (what
 * `requests()` reads), `DisableViaHeader Yes`, and `BasicAuth user pass` with `auth`. Resolves
 * once it accepts connections.
 */
export async function startTinyproxy(opts: ProxyOptions = {}): Promise<TestProxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trawl-tinyproxy-'));
  const log = join(dir, 'tinyproxy.log');
  const conf = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    `LogFile "${log}"`,
    'LogLevel Connect',
    'MaxClients 100',
    'Allow 127.0.0.1',
    'DisableViaHeader Yes',
    ...(opts.auth === undefined ? [] : [`BasicAuth ${opts.auth.user} ${opts.auth.pass}`]),
  ];
  writeFileSync(join(dir, 'tinyproxy.conf'), `${conf.join('\n')}\n`);
  const proc = track(
    spawn('/usr/bin/tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' }),
  );
  const read = (): string[] => {
    if (!existsSync(log)) return [];
    const out: string[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      // CONNECT   Dec 07 05:33:40.690 [31334]: Request (file descriptor 5): CONNECT 127.0.0.1:9 HTTP/1.1
      const m = /\]: Request \(file descriptor \d+\): (\S+) (\S+)/.exec(line);
      if (m !== null) out.push(`${m[1]} ${m[2]}`);
    }
    return out;
  };
  try {
    await waitListening(port, proc, 'tinyproxy');
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  // The readiness probe itself is a connection without a request: it logs no Request line.
  return makeProxy('tinyproxy', 'http', port, dir, proc, opts.auth, read);
}

/**
 * Starts `/usr/bin/microsocks -i 127.0.0.1 -p PORT` (with `-u user -P pass` for `auth`) on a
 * free port; `requests()` lists the tunnels it logged on stderr (`client[N] ip: connected to
 * host:port`). Resolves once it accepts connections.
 */
export async function startMicrosocks(opts: ProxyOptions = {}): Promise<TestProxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'trawl-microsocks-'));
  const args = ['-i', '127.0.0.1', '-p', String(port)];
  if (opts.auth !== undefined) args.push('-u', opts.auth.user, '-P', opts.auth.pass);
  const proc = track(spawn('/usr/bin/microsocks', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  const lines: string[] = [];
  let partial = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      const m = /: connected to (\S+)$/.exec(line.trim());
      if (m !== null) lines.push(`CONNECT ${m[1]}`);
    }
  });
  try {
    await waitListening(port, proc, 'microsocks');
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return makeProxy('microsocks', 'socks5', port, dir, proc, opts.auth, () => [...lines]);
}
