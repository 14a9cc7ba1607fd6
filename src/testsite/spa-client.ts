/**
 * The browser-side script of the client-rendered test site (spa.ts), served as
 * `/static/app.js`. Kept as a string of plain ES2019 so it needs no bundler and is served
 * byte-identical on every run. What it does, per route (`location.pathname`):
 *
 * - any page: GET `/api/page?path=<path>` → `{ title, links, late?, probes? }`, then sets
 *   `document.title` and renders `<h1>` plus one `<a>` per link inside `#app`;
 * - `late` (the `/delayed` page): `late.links` are appended `late.afterMs` after the `load`
 *   event (and not before the page's own data has rendered);
 * - `/scroll`: GET `/api/scroll?batch=0`, then the next batch each time a scroll event finds the
 *   viewport within 300 px of the bottom, until a batch answers `next: null` (then `#end`);
 * - `/chain`: nothing until `load`; then `/api/chain/1` → `next` → … each after `gapMs`, and
 *   only the last answer carries the title and links (so the page is complete at networkidle,
 *   never at load);
 * - `probes` (the `/probe` page): fetches each probe URL and adds an iframe for each frame URL,
 *   recording `ok`/`failed` per probe in `window.__spa.probes`.
 *
 * Same-origin link clicks are intercepted: `history.pushState` plus a fetch of the new route's
 * data, no document load (`window.__spa.navigations` counts them); `popstate` re-renders.
 * `window.__spa` exposes timings (performance.now() ms) for tests: `loadedAt`, `renderedAt`,
 * `lateAt`, plus `renders`, `batches`, `ended`.
 */
export const SPA_CLIENT_JS = `(function () {
  'use strict';
  var app = document.getElementById('app');
  var state = (window.__spa = {
    loadedAt: -1, renderedAt: -1, lateAt: -1, renders: 0, navigations: 0,
    batches: 0, ended: false, probes: {}
  });
  var loaded = new Promise(function (resolve) {
    if (document.readyState === 'complete') { state.loadedAt = performance.now(); resolve(); return; }
    addEventListener('load', function () { state.loadedAt = performance.now(); resolve(); }, { once: true });
  });
  var seq = 0;
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function getJson(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + url);
      return r.json();
    });
  }
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function link(href, text) {
    var li = el('li');
    li.append(el('a', text || href, { href: href }));
    return li;
  }
  function render(data) {
    document.title = data.title;
    app.textContent = '';
    app.append(el('h1', data.title));
    var ul = el('ul', null, { id: 'links' });
    data.links.forEach(function (h) { ul.append(link(h)); });
    var nav = el('nav');
    nav.append(ul);
    app.append(nav);
    state.renders++;
    state.renderedAt = performance.now();
    return ul;
  }
  function fail(err) {
    document.title = 'Error';
    app.textContent = String(err && err.message || err);
  }
  function page(path, my) {
    return getJson('/api/page?path=' + encodeURIComponent(path)).then(function (data) {
      if (my !== seq) return;
      var ul = render(data);
      if (data.late) {
        loaded.then(function () { return sleep(data.late.afterMs); }).then(function () {
          if (my !== seq) return;
          data.late.links.forEach(function (h) { ul.append(link(h)); });
          state.lateAt = performance.now();
        });
      }
      if (data.probes) probe(data.probes);
    });
  }
  function probe(p) {
    p.fetch.forEach(function (u) {
      fetch(u, { mode: 'no-cors' }).then(function () { state.probes[u] = 'ok'; },
        function () { state.probes[u] = 'failed'; });
    });
    p.frames.forEach(function (u) {
      var f = el('iframe', null, { src: u, width: '10', height: '10' });
      f.addEventListener('load', function () { state.probes[u] = 'loaded'; });
      document.body.append(f);
    });
  }
  function scroll(my) {
    var ul = null, next = 0, busy = false;
    function more() {
      if (busy || next === null || my !== seq) return;
      busy = true;
      getJson('/api/scroll?batch=' + next).then(function (b) {
        busy = false;
        if (my !== seq) return;
        if (ul === null) ul = render(b);
        b.items.forEach(function (it) {
          var li = link(it.href, it.text);
          li.className = 'item';
          li.style.height = '200px';
          ul.append(li);
        });
        state.batches++;
        next = b.next;
        if (next === null) { app.append(el('p', 'End of list', { id: 'end' })); state.ended = true; }
      }, function (e) { busy = false; fail(e); });
    }
    addEventListener('scroll', function () {
      if (innerHeight + scrollY >= document.documentElement.scrollHeight - 300) more();
    }, { passive: true });
    more();
  }
  function chain(my) {
    return loaded.then(function () {
      function step(url) {
        return getJson(url).then(function (d) {
          if (my !== seq) return;
          if (d.next) return sleep(d.gapMs).then(function () { return step(d.next); });
          render(d);
        });
      }
      return step('/api/chain/1');
    });
  }
  function route() {
    var my = ++seq;
    var path = location.pathname;
    var done = path === '/scroll' ? (scroll(my), Promise.resolve())
      : path === '/chain' ? chain(my) : page(path, my);
    done.catch(fail);
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    var u = new URL(a.getAttribute('href'), location.href);
    if (u.origin !== location.origin || a.target) return;
    ev.preventDefault();
    if (u.pathname === location.pathname && u.search === location.search) return;
    history.pushState(null, '', u.href);
    state.navigations++;
    route();
  });
  addEventListener('popstate', route);
  route();
})();
`;
