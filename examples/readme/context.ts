import { isCanceled, isDeadlineExceeded, sleep, withCancel, withTimeout } from '../../src/conc/index.js';

// ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond); defer cancel()
const { signal, cancel } = withTimeout(undefined, 50);
try {
  await sleep(1000, signal);
} catch (err) {
  console.log('deadline exceeded:', isDeadlineExceeded(err)); // true
} finally {
  cancel();
}

// Cancelling a parent cancels its children, with the parent's reason.
const parent = withCancel();
const child = withTimeout(parent.signal, 60_000);
parent.cancel();
console.log('child canceled:', child.signal.aborted && isCanceled(child.signal.reason)); // true
