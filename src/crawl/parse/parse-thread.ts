import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParseConfig, ParseJob, ParseOutput } from './parse-job.js';

interface Pending {
  resolve: (out: ParseOutput) => void;
  reject: (err: Error) => void;
}

/**
 * One worker thread that parses pages. Each job is answered by its id: in the order sent for a
 * plain crawl, in any order for a scraper crawl (handlers are async and run concurrently). The
 * thread is `unref`'d while idle so it never keeps the process alive on its own. A thread that
 * dies fails its pending jobs with the cause instead of leaving them hanging.
 */
export class ParseThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #dead: Error | null = null;

  constructor(config: ParseConfig) {
    this.#worker = spawnParseWorker();
    this.#worker.unref();
    this.#worker.postMessage({ config });
    this.#worker.on('message', (msg: { id: number; out?: ParseOutput; error?: string }) => {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (msg.out) p.resolve(msg.out);
      else p.reject(new Error(msg.error ?? 'parse failed'));
    });
    const fail = (err: Error) => {
      this.#dead = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`parse thread exited with code ${code}`)));
  }

  /**
   * Parses `job` on this thread; rejects if the thread has died. The body's memory is moved to
   * the thread (zero-copy) when it owns its whole ArrayBuffer, else copied: never transfer a
   * slice of Node's shared Buffer pool.
   */
  parse(job: ParseJob): Promise<ParseOutput> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = ++this.#seq;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const b = job.body;
      const body = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
      this.#worker.postMessage({ id, job: { ...job, body } }, [body.buffer as ArrayBuffer]);
    });
  }

  /** Stops the thread; pending jobs are rejected. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

// A parse thread allocates fast and keeps little: a small young generation keeps its RSS down
// (measured: about 40 MB less at no cost in pages/s; bench/crawl.bench.ts).
const PARSE_THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };

// From dist/ the compiled .js worker runs as is; from src/ (tests, tsx) the .ts worker needs tsx.
function spawnParseWorker(): Worker {
  const js = new URL('./parse-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { resourceLimits: PARSE_THREAD_LIMITS });
  // Running from TypeScript sources (tests, tsx): register tsx inside the thread, then load the .ts worker.
  const ts = new URL('./parse-worker.ts', import.meta.url).href;
  // tsx resolved here, not by bare name in the thread: the process's cwd may have no node_modules.
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${tsx}).then((api) => { api.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true, resourceLimits: PARSE_THREAD_LIMITS });
}
