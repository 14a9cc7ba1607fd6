import { parentPort } from 'node:worker_threads';
import { serializeBatch } from './warc-record.js';
import { decodeBatch, type WarcAnswer, type WireBatch } from './warc-thread.js';

// One WARC thread (see WarcThread): each {WireBatch} message is answered, in order, with the
// batch's bytes {id, out} (moved, not copied) or what serializing threw {id, error}.
const port = parentPort;
if (!port) throw new Error('warc-worker must run in a worker thread');

port.on('message', (msg: WireBatch) => {
  let out: Buffer;
  try {
    out = serializeBatch(decodeBatch(msg));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({ id: msg.id, error: { name: e.name, message: e.message } } satisfies WarcAnswer);
    return;
  }
  // Move the bytes back when they own their memory; a small result sits in Node's shared pool,
  // so it is copied instead.
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength;
  const bytes = own ? out : new Uint8Array(out);
  port.postMessage({ id: msg.id, out: bytes } satisfies WarcAnswer, [bytes.buffer as ArrayBuffer]);
});
