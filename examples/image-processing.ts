/**
 * The seed's "Image Processing Service": a worker pool written the Go way — a buffered job
 * channel, N worker loops, a results channel, and a WaitGroup that closes the results once the
 * workers are gone. (For a ready-made pool with resizing and abort, see worker-pool.ts.)
 *
 * Prints what the Go program prints: the `log.Printf` lines (timestamped) on stderr, the results
 * on stdout. Which worker takes which image is up to Go's scheduler; here the workers are served
 * FIFO and timers fire in order, so the assignment is always the same.
 *
 *   npx tsx examples/image-processing.ts
 */
import { Channel, sleep, WaitGroup, withTimeout } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

interface Image {
  id: string;
  url: string;
  format: string;
}

interface ProcessedImage {
  id: string;
  thumbnailUrl: string;
  error?: unknown;
}

/** Go's `log.Printf`: a local-time stamp, then the message, on stderr. */
function logf(message: string): void {
  const d = new Date(clock.now());
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())}`;
  console.error(`${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${message}`);
}

class ImageProcessor {
  readonly jobs: Channel<Image>;
  readonly results: Channel<ProcessedImage>;
  readonly #wg = new WaitGroup();

  constructor(
    readonly workerCount: number,
    bufferSize: number,
  ) {
    this.jobs = new Channel(bufferSize);
    this.results = new Channel(bufferSize);
  }

  start(signal: AbortSignal): void {
    for (let i = 0; i < this.workerCount; i++) this.#wg.go(() => this.#worker(signal, i));
  }

  async #worker(signal: AbortSignal, id: number): Promise<void> {
    // Go: `select { case <-ctx.Done(): ... case job, ok := <-ip.jobs: ... }` in a loop. Ranging
    // with the signal is that loop: it ends when `jobs` is closed and drained, and throws the
    // signal's reason if the context is done first.
    try {
      for await (const job of this.jobs.range(signal)) {
        logf(`Worker ${id}: processing image ${job.id}`);
        await sleep(500, undefined, clock); // simulate image processing
        await this.results.send({ id: job.id, thumbnailUrl: `https://cdn.example.com/thumb/${job.id}` });
      }
    } catch {
      logf(`Worker ${id}: shutting down`);
    }
  }

  submit(img: Image): Promise<void> {
    return this.jobs.send(img);
  }

  async shutdown(): Promise<void> {
    this.jobs.close();
    await this.#wg.wait();
    this.results.close();
  }
}

await run(async () => {
  const { signal, cancel } = withTimeout(undefined, 10_000, clock);
  try {
    // Create processor with 3 workers
    const processor = new ImageProcessor(3, 10);
    processor.start(signal);

    const images: Image[] = [
      { id: 'img-1', url: 'https://example.com/photo1.jpg', format: 'jpg' },
      { id: 'img-2', url: 'https://example.com/photo2.png', format: 'png' },
      { id: 'img-3', url: 'https://example.com/photo3.jpg', format: 'jpg' },
      { id: 'img-4', url: 'https://example.com/photo4.jpg', format: 'jpg' },
      { id: 'img-5', url: 'https://example.com/photo5.png', format: 'png' },
    ];

    // Go: `go func() { ...; processor.Shutdown() }()` — an async task we don't await here.
    void (async () => {
      for (const img of images) await processor.submit(img);
      await processor.shutdown();
    })();

    // Collect results
    for await (const result of processor.results) {
      if (result.error !== undefined) logf(`Error processing ${result.id}: ${String(result.error)}`);
      else console.log(`✓ Processed ${result.id} -> ${result.thumbnailUrl}`);
    }
  } finally {
    cancel(); // Go: defer cancel()
  }
});
