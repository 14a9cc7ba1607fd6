/**
 * The clock the examples run on. Normally the real {@link systemClock}. With
 * `TRAWL_EXAMPLE_FAST=1` (what test/examples runs) it is a {@link FakeClock} that {@link run}
 * moves forward whenever the program is waiting for time, so an example that takes seconds of
 * real time prints the same lines in milliseconds — every primitive that sleeps takes a clock.
 */
import { type Clock, FakeClock, flush, systemClock } from '../../src/conc/index.js';

/** Whether the example runs on simulated time. */
export const FAST = process.env.TRAWL_EXAMPLE_FAST === '1';

/** The examples' clock; simulated time starts at 2026-01-09T02:00:00Z. */
export const clock: Clock = FAST ? new FakeClock(Date.UTC(2026, 0, 9, 2, 0, 0)) : systemClock;

/**
 * Runs `main`. On the fake clock, whenever every task is blocked, time jumps to the next pending
 * timer (timers fire one at a time, each at its own due time, and the program reacts before the
 * next one), until `main` settles or nothing is left to wake it.
 */
export async function run(main: () => Promise<void>): Promise<void> {
  const done = main();
  if (clock instanceof FakeClock) {
    let settled = false;
    done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await flush();
      if (settled || clock.pendingTimers === 0) break;
      await clock.advanceAsync(1000);
    }
  }
  await done;
}
