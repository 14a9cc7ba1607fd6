/**
 * Which pending timers keep Node running, checked in real child processes. Go's rule: a program
 * blocked on a timer — a receive from `time.After`, a `select` on `ctx.Done()`, a
 * `semaphore.Acquire(ctx)` under a deadline — waits for it; a timer or context nobody is blocked
 * on keeps nothing alive. Node exits with code 13 ("unsettled top-level await") when nothing
 * ref'd is pending, so every timer in trawl/conc must be ref'd exactly while it is awaited.
 *
 * Each program prints what it saw; exit code 0 (not 13, and not killed by the guard) is the
 * proof that it waited for its timer. Resource checks read `process.getActiveResourcesInfo()`,
 * which lists only ref'd handles (a `Timeout` per ref'd timer), instead of measuring time.
 */
import { describe, expect, it } from 'vitest';
import { runNode } from '../helpers/run-node.js';

const concPath = JSON.stringify(new URL('../../src/conc/index.ts', import.meta.url).pathname);

/** Runs `code` (an ES module with trawl/conc imported as C) in a fresh Node: stdout lines and exit code. */
function run(code: string): Promise<{ out: string[]; code: number | null }> {
  return runNode(
    `import * as C from ${concPath};
const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;`,
    code,
  );
}

describe.concurrent('a program blocked on a timer waits for it (as in Go)', () => {
  it("like Go's semaphore.Acquire(ctx) under a deadline: acquire(1, withTimeout(bg, 50).signal) waits for the deadline", async () => {
    const code = `const sem = C.newWeighted(1);
await sem.acquire(1);
const { signal } = C.withTimeout(C.background(), 50);
try { await sem.acquire(1, signal); } catch (e) { console.log('acquire: ' + e.name); }`;
    expect(await run(code)).toEqual({ out: ['acquire: DeadlineExceededError'], code: 0 });
  });

  it("like Go's time.After: a program blocked in select on after(50) waits for it", async () => {
    const code = `const never = C.makeChan();
const r = await C.select([C.recvCase(never), C.recvCase(C.after(50))]);
console.log('select: case ' + r.index);`;
    expect(await run(code)).toEqual({ out: ['select: case 1'], code: 0 });
  });

  it("like Go's <-time.After(50) and <-timer.C: a plain receive waits for the timer", async () => {
    const code = `const r = await C.after(50).recv();
console.log('after: ' + r.ok);
const t = C.newTimer(10_000);
t.reset(30);
for await (const _ of t.c) { console.log('timer: fired'); break; }`;
    expect(await run(code)).toEqual({ out: ['after: true', 'timer: fired'], code: 0 });
  });

  it("like Go's select { case <-ctx.Done(): }: a select of only nil cases under a 50 ms context waits for it", async () => {
    const code = `const { signal } = C.withTimeout(C.background(), 50);
try { await C.select([C.recvCase(null), C.recvCase(undefined)], signal); }
catch (e) { console.log('select: ' + e.name + ' ' + C.err(signal).name); }`;
    expect(await run(code)).toEqual({
      out: ['select: DeadlineExceededError DeadlineExceededError'],
      code: 0,
    });
  });

  it("like Go's select { case v := <-ch: case <-ctx.Done(): }: recv and send with a deadline signal wait for it", async () => {
    const code = `const ch = C.makeChan();
const a = C.withTimeout(C.background(), 40);
try { await ch.recv(a.signal); } catch (e) { console.log('recv: ' + e.name); }
const b = C.withTimeout(C.background(), 40);
try { await ch.send(1, b.signal); } catch (e) { console.log('send: ' + e.name); }`;
    expect(await run(code)).toEqual({
      out: ['recv: DeadlineExceededError', 'send: DeadlineExceededError'],
      code: 0,
    });
  });

  it("like Go's derived contexts: a parent's deadline keeps a program blocked on a child (WaitGroup, errgroup) alive", async () => {
    const code = `const parent = C.withTimeout(C.background(), 40);
const child = C.withCancel(parent.signal);
const wg = new C.WaitGroup();
wg.add(1);
try { await wg.wait(child.signal); } catch (e) { console.log('wg: ' + e.name); }
const p2 = C.withTimeout(C.background(), 40);
const { group, signal } = C.withContext(p2.signal);
group.go((s) => C.select([], s)); // Go's <-ctx.Done(): blocked on the signal through conc
try { await group.wait(); } catch (e) { console.log('group: ' + e.name + ' ' + C.err(signal).name); }`;
    expect(await run(code)).toEqual({
      out: ['wg: DeadlineExceededError', 'group: DeadlineExceededError DeadlineExceededError'],
      code: 0,
    });
  });
});

describe.concurrent('a timer nobody is blocked on keeps nothing alive (as in Go)', () => {
  it("like Go's context.WithTimeout: a context created and never waited on leaves no ref'd timer", async () => {
    const code = `console.log('before ' + timeouts());
const ctx = C.withTimeout(C.background(), 60_000);
const child = C.withDeadline(ctx.signal, Date.now() + 120_000);
C.after(60_000); C.newTimer(60_000); const ticker = C.newTicker(60_000);
console.log('created ' + timeouts());`;
    expect(await run(code)).toEqual({ out: ['before 0', 'created 0'], code: 0 });
  });

  it("a deadline timer is ref'd while something is blocked on the signal and unref'd when the wait ends", async () => {
    const code = `const ctx = C.withTimeout(C.background(), 60_000);
const child = C.withCancel(ctx.signal);
const ch = C.makeChan();
const p = ch.recv(child.signal);
console.log('blocked ' + timeouts());
ch.trySend(1);
await p;
console.log('received ' + timeouts());
const sem = C.newWeighted(1);
await sem.acquire(1);
const q = sem.acquire(1, ctx.signal);
console.log('acquiring ' + timeouts());
sem.release(1);
await q;
console.log('acquired ' + timeouts());
const r = C.select([C.recvCase(ch)], child.signal);
console.log('selecting ' + timeouts());
child.cancel();
await r.catch(() => {});
console.log('child cancelled ' + timeouts());`;
    expect(await run(code)).toEqual({
      out: ['blocked 1', 'received 0', 'acquiring 1', 'acquired 0', 'selecting 1', 'child cancelled 0'],
      code: 0,
    });
  });

  it("an after() timer is ref'd while a select waits on it and unref'd when another case wins", async () => {
    const code = `const ch = C.makeChan();
const timeout = C.after(60_000);
const ticker = C.newTicker(60_000);
const s = C.select([C.recvCase(ch), C.recvCase(timeout), C.recvCase(ticker.c)]);
console.log('waiting ' + timeouts());
ch.trySend('work');
console.log('won by ' + (await s).index + ' ' + timeouts());`;
    expect(await run(code)).toEqual({ out: ['waiting 2', 'won by 0 0'], code: 0 });
  });
});
