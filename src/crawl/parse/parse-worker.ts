import { parentPort } from 'node:worker_threads';
import { type ParseJob, runParseJob } from './parse-job.js';

// One parse thread: answers {id, job} messages with {id, out} or {id, error}, in order.
const port = parentPort;
if (!port) throw new Error('parse-worker must run in a worker thread');
port.on('message', (msg: { id: number; job: ParseJob }) => {
  try {
    port.postMessage({ id: msg.id, out: runParseJob(msg.job) });
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
