/**
 * The seed's select pattern 1, "Timeout Handling": wait for a result or for `time.After`,
 * whichever comes first.
 *
 *   select {
 *   case result := <-ch:            // Handle result
 *   case <-time.After(2 * time.Second): // Handle timeout
 *   }
 *
 * Two calls: one answers in 1 s (the result wins), one in 3 s (the 2 s timeout wins).
 *
 *   npx tsx examples/select-timeout.ts
 */
import { after, Channel, recvCase, select, sleep } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

/** Starts a task answering on `ch` after `ms`. `ch` has room for one value, so a late answer
 * nobody waits for any more does not leave its sender blocked (the usual Go idiom). */
function call(name: string, ms: number): Channel<string> {
  const ch = new Channel<string>(1);
  void sleep(ms, undefined, clock).then(() => ch.send(`${name} answered after ${ms / 1000}s`));
  return ch;
}

async function fetchWithTimeout(name: string, ms: number): Promise<void> {
  const ch = call(name, ms);
  const r = await select([recvCase(ch), recvCase(after(2000, clock))]);
  if (r.index === 0) console.log(`result: ${r.value}`);
  else console.log(`${name}: timeout after 2s`);
}

await run(async () => {
  await fetchWithTimeout('fast service', 1000);
  await fetchWithTimeout('slow service', 3000);
});
