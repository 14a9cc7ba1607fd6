import { fanOut, generate, merge, pipeline, stage } from '../../src/conc/index.js';

// A Pipeline: stages under one context; the first error stops them all and is what wait() rejects with.
const p = pipeline();
const squares = p.stage(p.generate([1, 2, 3, 4, 5]), async (n) => n * n, { concurrency: 3, ordered: true });
const [toPrint, toSum] = p.tee(squares, 2, { buffer: 5 }); // every value to both
let sum = 0;
p.sink(toSum, (n) => {
  sum += n;
});
p.sink(toPrint, (n) => console.log('square', n)); // 1 4 9 16 25, in input order
await p.wait();
console.log('sum', sum); // 55

// Free-standing builders: fan-out to two workers, fan-in with merge.
const [w1, w2] = fanOut(generate(['a', 'b', 'c', 'd']), 2);
const upper = (s: string) => s.toUpperCase();
const letters: string[] = [];
for await (const s of merge(stage(w1, upper), stage(w2, upper))) letters.push(s);
console.log(letters.sort().join('')); // ABCD (arrival order varies)
