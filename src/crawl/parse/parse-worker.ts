import { parentPort } from 'node:worker_threads';
import { createParser, type ParseConfig, type ParseJob, type ParseOutput, type Parser } from './parse-job.js';

// One parse thread: first a {config} message, then {id, job} messages, each answered with
// {id, out} or {id, error}. A plain crawl's parser is synchronous, so its answers come in order;
// a scraper crawl's handlers are async, so jobs run concurrently and answers come as they finish
// (the ParseThread matches them by id).
const port = parentPort;
if (!port) throw new Error('parse-worker must run in a worker thread');
let parse: Parser | null = null;

const answer = (id: number, out: ParseOutput): void => port.postMessage({ id, out });
const answerError = (id: number, err: unknown): void =>
  port.postMessage({ id, error: err instanceof Error ? err.message : String(err) });

port.on('message', (msg: { config: ParseConfig } | { id: number; job: ParseJob }) => {
  if ('config' in msg) {
    // With a scraper this starts importing it now, before the first job arrives.
    parse = createParser(msg.config);
    if (msg.config.scraper != null) {
      // A scraper's stray promise (one it forgot to await) must not kill the thread and every
      // page on it: report it and go on. Only scraper crawls run user code here.
      process.on('unhandledRejection', (reason) => {
        const text = reason instanceof Error ? reason.message : String(reason);
        process.stderr.write(`trawl: unhandled rejection in the scraper: ${text}\n`);
      });
    }
    return;
  }
  const { id } = msg;
  try {
    if (!parse) throw new Error('parse thread got a job before its config');
    const out = parse(msg.job);
    if (out instanceof Promise)
      out.then(
        (o) => answer(id, o),
        (err) => answerError(id, err),
      );
    else answer(id, out);
  } catch (err) {
    answerError(id, err);
  }
});
