import { parentPort } from 'node:worker_threads';
import { createParser, type ParseConfig, type ParseJob, type ParseOutput } from './parse-job.js';

// One parse thread: first a {config} message, then {id, job} messages answered with {id, out}
// or {id, error}, in order.
const port = parentPort;
if (!port) throw new Error('parse-worker must run in a worker thread');
let parse: ((job: ParseJob) => ParseOutput) | null = null;
port.on('message', (msg: { config: ParseConfig } | { id: number; job: ParseJob }) => {
  if ('config' in msg) {
    parse = createParser(msg.config);
    return;
  }
  try {
    if (!parse) throw new Error('parse thread got a job before its config');
    port.postMessage({ id: msg.id, out: parse(msg.job) });
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
