/**
 * `trawl/conc`: Go's concurrency vocabulary for TypeScript, with Go's exact semantics and no
 * runtime dependencies. Channels and `select`; `time.After`, Timer, Ticker and sleep; context as
 * AbortSignal (`withCancel`, `withTimeout`, `withDeadline`); WaitGroup; errgroup; a worker pool;
 * pipelines with fan-out and fan-in; `golang.org/x/time/rate` (Limiter, Sometimes) and
 * `golang.org/x/sync/semaphore` (Weighted). Every blocking call takes an AbortSignal (Go's ctx).
 *
 * This file is the package's public surface: it re-exports each module's public API and nothing
 * else (the wait queues, abort watching and test hooks stay internal).
 */

export type { RecvResult } from './channel.js';
export { Channel, makeChan } from './channel.js';
export type { Clock, TimerHandle } from './clock.js';
export { FakeClock, flush, systemClock } from './clock.js';
export type { CancelContext } from './context.js';
export {
  background,
  CanceledError,
  cause,
  DeadlineExceededError,
  err,
  isCanceled,
  isDeadlineExceeded,
  liveChildren,
  withCancel,
  withDeadline,
  withTimeout,
} from './context.js';
export { deadlineKey, setSignalDeadline, signalDeadline } from './deadline.js';
export type { GroupTask } from './errgroup.js';
export { Group, withContext } from './errgroup.js';
export { ChannelClosedError, CloseOfClosedChannelError } from './errors.js';
export type { BufferOptions, SignalOptions, Skip, Source, StageOptions } from './pipeline.js';
export { fanOut, filter, generate, merge, Pipeline, pipeline, skip, stage, tee } from './pipeline.js';
export type { JobResult, WorkerPoolOptions } from './pool.js';
export { PoolClosedError, WorkerPool } from './pool.js';
export {
  every,
  Inf,
  InfDuration,
  Limiter,
  LimiterBurstError,
  LimiterDeadlineError,
  newLimiter,
  Reservation,
} from './rate.js';
export type {
  AnySelectResult,
  CaseResult,
  RecvCase,
  RecvCaseResult,
  SelectCase,
  SelectResult,
  SendCase,
  SendCaseResult,
} from './select.js';
export { recvCase, select, sendCase, trySelect } from './select.js';
export { newWeighted, Weighted } from './semaphore.js';
export type { SometimesOptions } from './sometimes.js';
export { Sometimes } from './sometimes.js';
export { after, newTicker, newTimer, sleep, Ticker, Timer } from './time.js';
export type { WaitGroupOptions } from './waitgroup.js';
export { WaitGroup } from './waitgroup.js';
