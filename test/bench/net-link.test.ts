// The archive benchmark's network model (bench/archive/net-link.ts): --net parsing, and a relay
// that delays every response and paces all of them through one shared bandwidth.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { describeNet, parseNet, startLink } from '../../bench/archive/net-link.js';
import { listen, stopServer, trackSockets } from '../../src/testsite/listen.js';

describe('parseNet', () => {
  it('reads latency and bandwidth in any order, off as none', () => {
    expect(parseNet('off')).toBeNull();
    expect(parseNet('20ms,100mbit')).toEqual({ latencyMs: 20, bytesPerSec: 12_500_000 });
    expect(parseNet('1gbit,5ms')).toEqual({ latencyMs: 5, bytesPerSec: 125_000_000 });
    expect(parseNet('512kbit')).toEqual({ latencyMs: 0, bytesPerSec: 64_000 });
    expect(parseNet('50ms')).toEqual({ latencyMs: 50, bytesPerSec: Number.POSITIVE_INFINITY });
    expect(() => parseNet('20 ms')).toThrow(/--net/);
    expect(() => parseNet('100mbps')).toThrow(/--net/);
  });

  it('describes the model for the benchmark header', () => {
    expect(describeNet(null)).toMatch(/none/);
    expect(describeNet(parseNet('20ms,100mbit'))).toMatch(/^20 ms before each response, 100 Mbit\/s shared/);
  });
});

describe('startLink', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  async function origin(body: Buffer): Promise<string> {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    const sockets = trackSockets(server);
    const { origin } = await listen(server);
    cleanup.push(() => stopServer(server, sockets));
    return origin;
  }

  async function timed(url: string): Promise<{ ms: number; body: Buffer }> {
    const t0 = performance.now();
    const res = await fetch(url);
    const body = Buffer.from(await res.arrayBuffer());
    return { ms: performance.now() - t0, body };
  }

  it('delays each response by the latency', async () => {
    const site = await origin(Buffer.from('hello'));
    const link = await startLink(site, parseNet('60ms')!);
    cleanup.push(() => link.close());
    const { ms, body } = await timed(`${link.origin}/`);
    expect(body.toString()).toBe('hello');
    expect(ms).toBeGreaterThanOrEqual(58);
  });

  it('paces the bytes of all responses together through the bandwidth', async () => {
    const payload = Buffer.alloc(200_000, 7);
    const site = await origin(payload);
    // 16 Mbit/s = 2 MB/s: two 200 kB bodies at once take at least 0.19 s together (an idle link
    // lets one 16 KiB slice through at once).
    const link = await startLink(site, parseNet('16mbit')!);
    cleanup.push(() => link.close());
    const t0 = performance.now();
    const [a, b] = await Promise.all([timed(`${link.origin}/a`), timed(`${link.origin}/b`)]);
    const ms = performance.now() - t0;
    expect(a.body.equals(payload) && b.body.equals(payload)).toBe(true);
    expect(ms).toBeGreaterThanOrEqual(180);
    expect(ms).toBeLessThan(2_000);
  });
});
