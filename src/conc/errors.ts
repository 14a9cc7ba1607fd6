/**
 * The errors of `trawl/conc` channels. Go reports these misuses as panics; here they are typed
 * errors so callers can tell a programming mistake (sending on or closing a channel that is
 * already closed) from a cancellation, which rejects with the signal's own `reason`.
 */

/**
 * Thrown by `trySend`, and the rejection of `send` and of a `select` whose chosen send case
 * targets a channel that is closed — Go's `panic("send on closed channel")`. A sender that is
 * blocked when the channel is closed is rejected with it too (Go wakes such senders and they
 * panic). The value of a send rejected this way was never delivered to anyone.
 */
export class ChannelClosedError extends Error {
  constructor(message = 'send on closed channel') {
    super(message);
    this.name = 'ChannelClosedError';
  }
}

/**
 * Thrown by `close()` on a channel that is already closed — Go's `panic("close of closed
 * channel")`. The second close changes nothing: the channel stays closed with its buffered
 * values intact.
 */
export class CloseOfClosedChannelError extends Error {
  constructor(message = 'close of closed channel') {
    super(message);
    this.name = 'CloseOfClosedChannelError';
  }
}
