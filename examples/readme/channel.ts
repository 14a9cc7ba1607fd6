import { Channel } from '../../src/conc/index.js';

// Unbuffered: a send completes only when a receiver takes the value.
const greetings = new Channel<string>();
void greetings.send('hello'); // Go: go func() { greetings <- "hello" }()
console.log((await greetings.recv()).value); // hello

// Buffered: sends complete at once while there is room.
const ch = new Channel<number>(2); // make(chan int, 2)
await ch.send(1);
await ch.send(2);
ch.close();
for await (const v of ch) console.log(v); // 1, 2: the loop ends once closed and drained
console.log(await ch.recv()); // { value: undefined, ok: false }
