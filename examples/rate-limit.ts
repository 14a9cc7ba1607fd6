/**
 * The seed's rate limiting example: `rate.NewLimiter(1, 5)` — 1 request per second with bursts
 * of 5 — and ten requests that each `Wait` for a token. Requests 0–4 go at once (the bucket
 * starts full), then one per second: about 5 s in all.
 *
 *   npx tsx examples/rate-limit.ts
 */
import { background, Limiter } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

await run(async () => {
  const limiter = new Limiter(1, 5, clock); // 1 request per second, burst of 5

  for (let i = 0; i < 10; i++) {
    try {
      await limiter.wait(background());
    } catch (err) {
      console.log('Rate limit exceeded:', err);
      continue;
    }
    console.log('API request', i);
  }
});
