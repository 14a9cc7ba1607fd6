import { after, Channel, recvCase, select, sendCase, trySelect } from '../../src/conc/index.js';

const results = new Channel<string>();
const out = new Channel<number>(1);

// Go: select { case r := <-results: ...; case out <- 42: ...; case <-time.After(time.Second): ... }
const r = await select([recvCase(results), sendCase(out, 42), recvCase(after(1000))]);
if (r.index === 0) console.log('result', r.value);
else if (r.index === 1) console.log('sent 42');
else console.log('timeout');

// Go: select { case r := <-results: ...; default: ... }
console.log(trySelect([recvCase(results)]) ?? 'nothing ready');
