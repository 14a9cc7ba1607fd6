/**
 * Raw TCP connections to a target, opened exactly as the crawler's own requests open theirs: the
 * same SSRF policy and the same route (direct, or through the session's upstream proxy). The
 * render layer's guard proxy uses it for Chromium's CONNECT tunnels (https:, wss:): Chromium
 * speaks TLS itself inside the tunnel, so what is wanted here is the unencrypted byte stream to
 * `host:port`, which is what the crawl's undici connectors give for protocol `http:`.
 */
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { proxyConnector } from './proxy-connect.js';
import type { ProxySpec } from './proxy-url.js';
import { guardedConnector, type SsrfPolicy } from './ssrf.js';

/** Options of {@link tunnelConnect}. */
export interface TunnelConnectOptions {
  /**
   * Deadline of one whole connect, in ms (name resolution and check, TCP, and the upstream
   * proxy's handshake when there is one). The crawl's connect timeout.
   */
  connectTimeoutMs: number;
}

/** Where a tunnel goes: a host name or IP literal (IPv6 with or without brackets) and a port. */
export interface TunnelTarget {
  host: string;
  port: number;
}

/** Opens one raw connection to a target; see {@link tunnelConnect}. */
export type TunnelConnect = (target: TunnelTarget, signal: AbortSignal) => Promise<Socket>;

/**
 * A function that opens a raw TCP connection to a target the way the crawler's requests on the
 * same route would, by calling the crawl's own undici connectors with protocol `http:` (so no TLS
 * is layered on: the caller's client does its own):
 * - `proxy` null (direct): ssrf.ts's guardedConnector — a host name is resolved and checked by
 *   `policy` inside the socket's lookup (the address checked is the address connected to), an IP
 *   literal is checked before connecting;
 * - `proxy` given: proxy-connect.ts's proxyConnector — the target is resolved and checked by
 *   `policy` first, then the proxy is asked (HTTP CONNECT or SOCKS5) for a tunnel to the checked
 *   address, never the name.
 *
 * The returned function resolves with the connected socket, paused (pipe it, which resumes it,
 * or attach a 'data' listener and call resume()), or rejects with the policy's SsrfError (code `ERR_TRAWL_SSRF`) for a refused target,
 * a ProxyError (code `ERR_TRAWL_PROXY`) for a failing upstream proxy, undici's
 * ConnectTimeoutError after `connectTimeoutMs`, or the socket's error (ECONNREFUSED...). When
 * `signal` aborts first it rejects with the signal's reason at once, and a socket that connects
 * later is destroyed. The port must be an integer in 1..65535 (RangeError otherwise, as a
 * rejection). Throws RangeError at once when connectTimeoutMs is not a positive integer.
 */
export function tunnelConnect(
  policy: SsrfPolicy,
  proxy: ProxySpec | null,
  opts: TunnelConnectOptions,
): TunnelConnect {
  if (!Number.isInteger(opts.connectTimeoutMs) || opts.connectTimeoutMs < 1)
    throw new RangeError(`connectTimeoutMs must be a positive integer, got ${opts.connectTimeoutMs}`);
  const connector: buildConnector.connector =
    proxy === null
      ? guardedConnector(policy, { timeout: opts.connectTimeoutMs })
      : proxyConnector(proxy, { timeoutMs: opts.connectTimeoutMs, ssrf: policy });

  return (target, signal) =>
    new Promise<Socket>((resolve, reject) => {
      if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
        reject(new RangeError(`port must be an integer in 1..65535, got ${target.port}`));
        return;
      }
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      // undici hands its connectors bare IPv6 literals (it strips the URL's brackets); so do we.
      const h = target.host;
      const hostname = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      connector(
        {
          protocol: 'http:',
          hostname,
          host: hostname.includes(':') ? `[${hostname}]:${target.port}` : `${hostname}:${target.port}`,
          port: String(target.port),
          localAddress: null,
        },
        (err, socket) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) {
            (socket as Socket | null)?.destroy();
            return;
          }
          settled = true;
          if (err !== null || socket === null) reject(err ?? new Error('no socket'));
          else {
            // Hand it over paused whatever the route (proxyConnector leaves its tunnel paused, a
            // direct socket is not yet flowing): no byte is read before the caller pipes it.
            socket.pause();
            resolve(socket as Socket);
          }
        },
      );
    });
}
