/**
 * The wait queues behind `Channel` and `select` (internal to `trawl/conc`, not exported from its
 * index). A blocked send, receive or select case is a {@link WaitNode} in a channel's FIFO
 * {@link WaitQueue}; the queue is an intrusive doubly linked list so that withdrawing a node (an
 * abort, or a select case that lost) is O(1) and leaves nothing behind — a select loop that keeps
 * timing out on a quiet channel must not grow that channel's queue (Go dequeues such sudogs too).
 */

import type { AbortWatcher } from './abort-watch.js';
import type { Keeper } from './keep-alive.js';

/**
 * The select that owns a set of nodes. A channel that matches one of its nodes calls `win` (or
 * `fail` for a send case whose channel was closed); the select then withdraws all its other
 * nodes synchronously, so exactly one case proceeds.
 */
export interface SelectWaker {
  /** `node` was matched: a receive case got `(value, ok)`; a send case's value was taken. */
  win(node: WaitNode, value: unknown, ok: boolean): void;
  /** A send case's channel was closed while the select waited (Go panics). */
  fail(error: unknown): void;
}

/** A plain receive wants `{ value, ok }` (Channel.recv). */
export const RECV_RESULT = 0;
/** A plain receive wants `{ value, done }` (async iteration). */
export const RECV_ITER = 1;

/**
 * One blocked operation on one channel. For a plain send/receive the node carries its own
 * promise callbacks (`sel === null`); for a select case it points at its select. All nodes share
 * one shape so the channel's hot paths stay monomorphic.
 */
export class WaitNode implements AbortWatcher {
  prev: WaitNode | null = null;
  next: WaitNode | null = null;
  /** The queue the node is in, or null once dequeued or withdrawn. */
  queue: WaitQueue | null = null;
  /** A sender's value (cleared once taken, so the queue never pins it). */
  value: unknown;
  /** The select case index, or for a plain receive {@link RECV_RESULT} / {@link RECV_ITER}. */
  readonly index: number;
  readonly sel: SelectWaker | null;
  resolve: ((value: unknown) => void) | null = null;
  reject: ((reason: unknown) => void) | null = null;
  signal: AbortSignal | undefined = undefined;

  constructor(value: unknown, index: number, sel: SelectWaker | null) {
    this.value = value;
    this.index = index;
    this.sel = sel;
  }

  /** A plain operation's signal aborted: vanish from the queue, as if never tried. */
  onAbort(reason: unknown): void {
    this.queue?.remove(this);
    this.value = undefined;
    this.reject!(reason);
  }
}

/**
 * A FIFO of blocked nodes with O(1) push, shift and removal of any node. A queue may have a
 * `keeper` (a timer channel's receive queue has its alarm): it is held while the queue is
 * non-empty and released when it empties, so the timer keeps Node alive exactly while someone
 * waits on it (see `keep-alive.ts`).
 */
export class WaitQueue {
  head: WaitNode | null = null;
  tail: WaitNode | null = null;
  /** The number of queued nodes. */
  size = 0;
  /** Held while the queue is non-empty; null for ordinary channels. */
  keeper: Keeper | null = null;

  /** Appends `node` (which must not be in any queue) as the newest waiter. */
  push(node: WaitNode): void {
    if (this.size === 0 && this.keeper !== null) this.keeper.hold();
    node.queue = this;
    node.prev = this.tail;
    node.next = null;
    if (this.tail === null) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  /** Removes and returns the oldest node, or null when empty. */
  shift(): WaitNode | null {
    const node = this.head;
    if (node === null) return null;
    this.head = node.next;
    if (this.head === null) this.tail = null;
    else this.head.prev = null;
    node.next = null;
    node.queue = null;
    if (--this.size === 0 && this.keeper !== null) this.keeper.release();
    return node;
  }

  /** Removes `node` if it is in this queue; otherwise does nothing. */
  remove(node: WaitNode): void {
    if (node.queue !== this) return;
    if (node.prev === null) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === null) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = null;
    node.next = null;
    node.queue = null;
    if (--this.size === 0 && this.keeper !== null) this.keeper.release();
  }
}

/** Hidden Channel methods used by `select` (symbol keys keep them off the public surface). */
export const kReady: unique symbol = Symbol('trawl.conc.chan.ready');
export const kTake: unique symbol = Symbol('trawl.conc.chan.take');
export const kPut: unique symbol = Symbol('trawl.conc.chan.put');
export const kWait: unique symbol = Symbol('trawl.conc.chan.wait');
export const kWaiting: unique symbol = Symbol('trawl.conc.chan.waiting');
export const kKeepAlive: unique symbol = Symbol('trawl.conc.chan.keepAlive');
/** What `[kTake]` returns for a closed, drained channel (a value can never be this symbol). */
export const CLOSED: unique symbol = Symbol('trawl.conc.chan.closed');
