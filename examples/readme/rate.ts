import { every, FakeClock, Limiter, Sometimes } from '../../src/conc/index.js';

// rate.NewLimiter(rate.Every(100*time.Millisecond), 3), on a clock we move by hand.
const clock = new FakeClock();
const lim = new Limiter(every(100), 3, clock);
console.log([1, 2, 3, 4].map(() => lim.allow())); // [ true, true, true, false ]
const r = lim.reserve();
console.log(r.ok(), r.delay()); // true 100: act in 100 ms
r.cancel(); // not acting after all: the token is handed back
clock.advance(100);
console.log(lim.allow(), lim.tokens()); // true 0

// On the real clock, wait() sleeps until a token is there (or the signal aborts).
const api = new Limiter(10, 5); // 10 events/s, bursts of 5
await api.wait(AbortSignal.timeout(1000));

// rate.Sometimes{First: 2, Every: 5}: runs on calls 0, 1, 5 and 10.
const sometimes = new Sometimes({ first: 2, every: 5 });
for (let i = 0; i < 12; i++) sometimes.do(() => console.log('logged call', i));
