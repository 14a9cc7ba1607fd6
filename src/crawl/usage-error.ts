/**
 * Bad user input: the CLI prints its message on one line and exits 2 before any request. Its own
 * file, below every folder of src/crawl, so that any layer (options, storage, Redis) can refuse
 * input without importing a higher one.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
