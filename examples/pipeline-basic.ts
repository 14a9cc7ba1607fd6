/**
 * The seed's introductory pipeline (written in Python there with asyncio queues and a `None`
 * end marker): a generator puts 0..4, a stage doubles each value, and a sink prints them.
 * Channels need no end marker: each stage closes its output when its input is closed and
 * drained, so the closing flows downstream and the sink's `for await` ends.
 *
 *   npx tsx examples/pipeline-basic.ts
 */
import { generate, stage } from '../src/conc/index.js';

const numbers = generate([0, 1, 2, 3, 4]); // stage one
const doubled = stage(numbers, (item) => item * 2); // stage two

for await (const item of doubled) console.log(`Processed item: ${item}`); // sink
