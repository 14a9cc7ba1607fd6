import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Starts `server` listening on `host:port` (defaults 127.0.0.1 and 0, a port the OS picks) and
 * resolves with the bound port and the origin to put in URLs (`http://127.0.0.1:PORT`, an IPv6
 * address in brackets). Rejects with the listen error (e.g. EADDRINUSE) and leaves no listener.
 */
export async function listen(
  server: Server,
  opts: { host?: string; port?: number } = {},
): Promise<{ port: number; origin: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { port: addr.port, origin: `http://${hostPart}:${addr.port}` };
}

/**
 * The server's open sockets, kept current (added on connection, removed on close), so that
 * `close()` can destroy keep-alive connections instead of waiting for them to time out.
 */
export function trackSockets(server: Server, sockets = new Set<Socket>()): Set<Socket> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * Closes `server` and destroys its open sockets (keep-alive connections would otherwise hold the
 * close until they time out); resolves once the listener is closed.
 */
export function stopServer(server: Server, sockets: Iterable<Socket>): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
}
