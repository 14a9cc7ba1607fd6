// `npx tsx bench/cookies.bench.ts [ops]` (default 100,000): the per-request CPU cost of a session's
// cookie jar (src/crawl/fetch/session-cookies.ts) as fetchPage pays it — header(url) before the
// request, store(url, setCookie) after — in the issue-12 benchmark's shape: the site sets one
// cookie per response (a rotating value on a fixed name) and every page has its own URL.
// Compare the µs/op with the plain crawl's CPU per page (0.8 ms in note-stop18.md): the target is
// cookies on within 10 % of --no-cookies.
import { SessionCookies } from '../src/crawl/fetch/session-cookies.js';

const ops = Number(process.argv[2] ?? 100_000);
if (!Number.isInteger(ops) || ops <= 0)
  throw new Error(`ops must be a positive integer, got ${process.argv[2]}`);

function run(label: string, jar: SessionCookies | null, n: number): number {
  const start = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let sent = 0;
  for (let i = 0; i < n; i++) {
    const url = `http://127.0.0.1:8080/page/${i % 1000}/${i}`;
    if (jar) {
      if (jar.header(url) !== null) sent++;
      jar.store(url, [`visit=${i}; Path=/; HttpOnly`]);
    }
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(start);
  const cpuUs = cpu.user + cpu.system;
  if (label !== '') {
    console.log(
      `${label.padEnd(34)} ${(cpuUs / n).toFixed(2).padStart(7)} µs/op CPU  ${(wallUs / n).toFixed(2).padStart(7)} µs/op wall  (${n} ops, ${sent} sent a Cookie)`,
    );
  }
  return cpuUs / n;
}

// Warm the JIT on a throwaway jar so the measured loop runs optimized code.
run('', new SessionCookies(), Math.min(ops, 10_000));
run('no cookies (loop only)', null, ops);
run('empty jar, no Set-Cookie', emptyJar(), ops);
run('header()+store(), 1 cookie/response', new SessionCookies(), ops);
const busy = new SessionCookies();
for (let k = 0; k < 20; k++) busy.store('http://127.0.0.1:8080/', [`c${k}=${'v'.repeat(32)}; Path=/`]);
run('same, jar already holds 20 cookies', busy, ops);

function emptyJar(): SessionCookies {
  const jar = new SessionCookies();
  // store() with no Set-Cookie values is what a response without cookies costs.
  const original = jar.store.bind(jar);
  jar.store = (url: string) => original(url, []);
  return jar;
}
