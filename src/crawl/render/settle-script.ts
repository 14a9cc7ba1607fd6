/**
 * The in-page half of the `settled` wait (render-page.ts): an init script that Chromium runs in
 * every frame of a rendering context before the page's own scripts, and the expression that
 * waits on it. Plain ES2019 in strings (the crawler's TypeScript has no DOM types, and the code
 * runs in the page, not here).
 *
 * What the script tracks, on `window.__trawlSettle`:
 * - pending `fetch()` calls (until the returned promise settles), reads of their bodies
 *   (`json()`, `text()`, … of the Response and its clones, until they settle) and
 *   `XMLHttpRequest`s (from `send()` until `loadend`);
 * - pending short timers: `setTimeout` with a delay ≤ SHORT_TIMER_MS, from the call until the
 *   callback runs or `clearTimeout`/`clearInterval` cancels it. A timer set from inside the
 *   callback of a timer chain already MAX_TIMER_CHAIN deep is not counted: that is a loop (a
 *   clock, a poller, a carousel) that would otherwise hold the page "busy" until the cap;
 * - the time of the last activity: a DOM mutation anywhere in the document (MutationObserver),
 *   a fetch/XHR finishing, a counted timer firing or being cleared.
 *
 * The page is settled when nothing is pending and there has been no activity for the quiet
 * window: the window covers what follows a completed request within a few tasks (reading the
 * body, parsing JSON, rendering, scheduling the next timer), so a page that renders what its XHR
 * returned is not read half-way. `setInterval`, requestAnimationFrame, WebSockets and dynamic
 * `import()` are not tracked (they either never end or cannot be seen from the page).
 *
 * The wrappers keep the page's view of these APIs unchanged: same return values and errors,
 * `this` and extra arguments passed through; the originals are captured before any page script
 * runs, and the waiter uses them, so a page replacing `setTimeout` cannot stall the wait.
 */

/** setTimeout delays up to this many ms count as pending work. */
export const SHORT_TIMER_MS = 1000;

/** Timers set from within this many nested timer callbacks still count; deeper ones are a loop. */
export const MAX_TIMER_CHAIN = 3;

/**
 * The init script (for `BrowserContext.addInitScript`). Idempotent per frame: a second copy in
 * the same window does nothing.
 */
export const SETTLE_INIT_SCRIPT = `(function () {
  'use strict';
  if (window.__trawlSettle) return;
  var perf = performance, now = function () { return perf.now(); };
  var setT = window.setTimeout, clearT = window.clearTimeout, clearI = window.clearInterval;
  var fetch0 = window.fetch;
  var XHR = window.XMLHttpRequest;
  var LIMIT = ${SHORT_TIMER_MS}, CHAIN = ${MAX_TIMER_CHAIN};
  var timers = new Map();
  var depth = 0;
  var s = { net: 0, last: now(), timers: timers, setTimeout: setT, mutations: 0 };
  function touch() { s.last = now(); }
  window.setTimeout = function (fn, delay) {
    var d = Number(delay) || 0;
    if (typeof fn !== 'function' || d > LIMIT || depth >= CHAIN) return setT.apply(this, arguments);
    var args = Array.prototype.slice.call(arguments);
    var id;
    var mine = depth + 1;
    args[0] = function () {
      if (timers.delete(id)) touch();
      var outer = depth;
      depth = mine;
      try { return fn.apply(this, arguments); } finally { depth = outer; }
    };
    id = setT.apply(this, args);
    timers.set(id, true);
    return id;
  };
  window.clearTimeout = function (id) {
    if (timers.delete(id)) touch();
    return clearT.apply(this, arguments);
  };
  window.clearInterval = function (id) {
    if (timers.delete(id)) touch();
    return clearI.apply(this, arguments);
  };
  function done() { s.net--; touch(); }
  // Counts the promise-returning call as pending until its promise settles.
  function pending(f, self, args, onValue) {
    s.net++;
    var p;
    try { p = f.apply(self, args); } catch (e) { done(); throw e; }
    Promise.resolve(p).then(function (v) { if (onValue) onValue(v); done(); }, done);
    return p;
  }
  // fetch() settles when the headers arrive; the body may come much later (a slow server, a
  // busy proxy), so reading it counts as pending too. This callback runs before the page's own
  // then() on the same promise, so there is no gap between the two.
  var READS = ['json', 'text', 'arrayBuffer', 'blob', 'formData', 'clone'];
  function trackBody(r) {
    if (!r || typeof r !== 'object') return;
    READS.forEach(function (m) {
      var f = r[m];
      if (typeof f !== 'function') return;
      var wrapped = m === 'clone'
        ? function () { var c = f.apply(this, arguments); trackBody(c); return c; }
        : function () { return pending(f, this, arguments, null); };
      try { Object.defineProperty(r, m, { value: wrapped, configurable: true, writable: true }); } catch (e) { /* frozen */ }
    });
  }
  if (typeof fetch0 === 'function') {
    window.fetch = function () { return pending(fetch0, this, arguments, trackBody); };
  }
  if (XHR && XHR.prototype && XHR.prototype.send) {
    var send0 = XHR.prototype.send;
    XHR.prototype.send = function () {
      var x = this, open = true;
      function end() {
        if (!open) return;
        open = false;
        x.removeEventListener('loadend', end);
        done();
      }
      s.net++;
      x.addEventListener('loadend', end);
      try { return send0.apply(this, arguments); } catch (e) { end(); throw e; }
    };
  }
  try {
    new MutationObserver(function () { s.mutations++; touch(); }).observe(document, {
      childList: true, subtree: true, attributes: true, characterData: true
    });
  } catch (e) { /* no document to observe (not an HTML or XML document) */ }
  Object.defineProperty(window, '__trawlSettle', { value: s, enumerable: false });
})();
`;

/**
 * The expression `page.evaluate` runs after `load`: a promise resolving to `'settled'` once the
 * page has nothing pending and `quietMs` without activity, or `'settle-cap'` after `capMs`
 * (measured from the call), whichever comes first; `'no-script'` at once when the init script
 * did not run in this document (a page whose CSP or type kept it out). It polls with the
 * page's original setTimeout every POLL_MS at most, sleeping straight to the end of the quiet
 * window when only that is left.
 */
export function settleExpression(capMs: number, quietMs: number): string {
  const cap = Math.max(0, Math.floor(capMs));
  const quiet = Math.max(0, Math.floor(quietMs));
  return `(function () {
  var s = window.__trawlSettle;
  if (!s) return 'no-script';
  var start = performance.now(), cap = ${cap}, quiet = ${quiet}, POLL = ${POLL_MS};
  return new Promise(function (resolve) {
    (function check() {
      var t = performance.now();
      if (t - start >= cap) return resolve('settle-cap');
      var wait = POLL;
      if (s.net <= 0 && s.timers.size === 0) {
        var idle = t - s.last;
        if (idle >= quiet) return resolve('settled');
        wait = Math.min(POLL * 4, quiet - idle);
      }
      s.setTimeout.call(window, check, Math.max(1, Math.min(wait, cap - (t - start))));
    })();
  });
})()`;
}

/** How often the waiter looks while something is pending, in ms. */
export const POLL_MS = 10;
