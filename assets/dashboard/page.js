// trawl live dashboard. Plain browser script, no build step. Reads DashboardSnapshot frames
// from /events (Server-Sent Events) and renders them.
//
// Every string that can come from a crawled site (titles, URLs, hosts, error text) reaches the
// DOM only through textContent (see cell()), never innerHTML, so markup in a page title is shown
// as characters and never parsed.
(() => {
  const byId = (id) => document.getElementById(id);

  const num = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
  const bytes = (n) => {
    const units = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) {
      n /= 1000;
      i++;
    }
    return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
  };
  const duration = (ms) => {
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h > 0 ? `${h}h ${m}m ${s % 60}s` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
  };
  const clock = (at) => new Date(at).toLocaleTimeString('en-GB', { hour12: false });

  /** A table cell whose content is `text` as plain characters. */
  const cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    return td;
  };
  const row = (cells) => {
    const tr = document.createElement('tr');
    for (const c of cells) tr.appendChild(c);
    return tr;
  };
  const setText = (id, text) => {
    const el = byId(id);
    if (el.textContent !== text) el.textContent = text;
  };

  // --- charts -------------------------------------------------------------------------------
  const chartDefs = [
    {
      id: 'chart-requests',
      series: [{ label: 'req/s', stroke: '#2563eb', fill: 'rgba(37,99,235,0.08)' }],
      pick: (s) => [s.requests],
    },
    {
      id: 'chart-errors',
      series: [{ label: 'errors/s', stroke: '#dc2626', fill: 'rgba(220,38,38,0.08)' }],
      pick: (s) => [s.errors],
    },
    {
      id: 'chart-latency',
      series: [
        { label: 'p50', stroke: '#16a34a' },
        { label: 'p95', stroke: '#d97706' },
        { label: 'p99', stroke: '#9333ea' },
      ],
      pick: (s) => [s.p50, s.p95, s.p99],
    },
  ];
  const charts = [];

  const chartWidth = (el) => Math.max(280, el.clientWidth - 14);

  const makeCharts = () => {
    for (const def of chartDefs) {
      const el = byId(def.id);
      const opts = {
        width: chartWidth(el),
        height: 180,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [{}, ...def.series.map((s) => ({ ...s, width: 1.5, spanGaps: false }))],
        // HH:MM:SS ticks: uPlot's default adds a date row that crowds narrow charts.
        axes: [{ values: (_u, splits) => splits.map((v) => clock(v * 1000)) }, { size: 50 }],
      };
      const data = [[], ...def.series.map(() => [])];
      charts.push({ def, el, plot: new uPlot(opts, data, el) });
    }
    window.addEventListener('resize', () => {
      for (const c of charts) c.plot.setSize({ width: chartWidth(c.el), height: 180 });
    });
  };

  const updateCharts = (series) => {
    for (const c of charts) {
      const ys = c.def.pick(series);
      c.plot.setData([series.t, ...ys]);
      // Exposed for tests and curious readers: how many points, and the newest value.
      const last = ys[0].length > 0 ? ys[0][ys[0].length - 1] : null;
      c.el.dataset.points = String(series.t.length);
      c.el.dataset.last = last === null ? '' : String(last);
    }
  };

  // --- tables -------------------------------------------------------------------------------
  // Per-host req/s is computed here from request counts between frames at least 1 s apart.
  let rateBase = { at: 0, counts: new Map() };
  let hostRates = new Map();

  const updateHostRates = (at, hosts) => {
    if (rateBase.at === 0) {
      rateBase = { at, counts: new Map(hosts.map((h) => [h.host, h.requests])) };
      return;
    }
    const dt = (at - rateBase.at) / 1000;
    if (dt < 1) return;
    const next = new Map();
    for (const h of hosts) {
      const before = rateBase.counts.get(h.host);
      if (before !== undefined) next.set(h.host, (h.requests - before) / dt);
    }
    hostRates = next;
    rateBase = { at, counts: new Map(hosts.map((h) => [h.host, h.requests])) };
  };

  const statusClass = (status) => (status === null ? 's0' : `s${Math.floor(status / 100)}`);

  const renderQueues = (m) => {
    const stages = [
      ['frontier', m.queueDepth.frontier],
      ['fetch', m.queueDepth.fetch],
      ['parse', m.queueDepth.parse],
      ['store', m.queueDepth.store],
      ['in flight', m.inFlight],
    ];
    const max = Math.max(1, ...stages.map((s) => s[1]));
    byId('queues').tBodies[0].replaceChildren(
      ...stages.map(([name, n]) => {
        const bar = document.createElement('div');
        bar.className = 'bar';
        bar.style.width = `${Math.round((100 * n) / max)}%`;
        const td = document.createElement('td');
        td.style.width = '50%';
        td.appendChild(bar);
        return row([cell(name), cell(num(n), 'num'), td]);
      }),
    );
    const f = m.frontier;
    byId('frontier').tBodies[0].replaceChildren(
      ...[
        ['queued', f.queued],
        ['leased', f.leased],
        ['done', f.done],
        ['failed', f.failed],
        ['seen', f.seen],
      ].map(([k, v]) => row([cell(k), cell(num(v), 'num')])),
    );
  };

  // --auto-throttle: "limit 6 · delay 0 ms · 503, 3s ago (latency 41/28 ms)"; '–' when off.
  const throttleText = (t) => {
    if (t === null || t === undefined) return '–';
    const lat =
      t.latencyMs === null || t.baseLatencyMs === null
        ? ''
        : ` (latency ${Math.round(t.latencyMs)}/${Math.round(t.baseLatencyMs)} ms)`;
    return `limit ${t.limit} · delay ${Math.round(t.delayMs)} ms · ${t.reason}, ${duration(t.sinceMs)} ago${lat}`;
  };

  const renderHosts = (snap) => {
    updateHostRates(snap.metrics.at, snap.hosts);
    byId('hosts').tBodies[0].replaceChildren(
      ...snap.hosts.map((h) => {
        const r = hostRates.get(h.host);
        const tr = row([
          cell(h.host, 'host'),
          cell(num(h.requests), 'num requests'),
          cell(r === undefined ? '–' : r.toFixed(1), 'num'),
          cell(num(h.errors), 'num'),
          cell(num(h.retries), 'num'),
          cell(h.rate === null ? '–' : `${h.rate}/s`, 'num'),
          cell(
            h.backoffMs > 0 ? `${(h.backoffMs / 1000).toFixed(1)} s` : '–',
            h.backoffMs > 0 ? 'num backoff' : 'num',
          ),
          cell(h.robots ?? '–'),
          cell(throttleText(h.throttle), 'throttle'),
        ]);
        tr.dataset.host = h.host;
        return tr;
      }),
    );
    setText(
      'hosts-note',
      snap.hostsTotal > snap.hosts.length ? `busiest ${snap.hosts.length} of ${snap.hostsTotal}` : '',
    );
  };

  // The snapshot carries up to 50 of each; the page shows the newest few to stay glanceable.
  const PAGE_ROWS = 20;
  const ERROR_ROWS = 12;

  const renderPages = (pages) => {
    byId('pages').tBodies[0].replaceChildren(
      ...pages
        .slice(0, PAGE_ROWS)
        .map((p) =>
          row([
            cell(clock(p.at)),
            cell(p.status === null ? 'none' : p.status, `num ${statusClass(p.status)}`),
            cell(
              p.title ?? (p.error === null ? '' : p.error),
              p.title === null ? 'wrap title s0' : 'wrap title',
            ),
            cell(p.url, 'wrap url'),
          ]),
        ),
    );
  };

  const renderErrors = (errors) => {
    byId('errors').tBodies[0].replaceChildren(
      ...errors
        .slice(0, ERROR_ROWS)
        .map((e) =>
          row([
            cell(clock(e.at)),
            cell(e.kind),
            cell(e.host),
            cell(e.url, 'wrap url'),
            cell(e.message, 'wrap msg'),
          ]),
        ),
    );
  };

  // Proxy displays are `scheme://host:port` from the command line or the environment: still
  // rendered through cell() like every other string. Sessions and proxies are shown only when the
  // crawl has them; the banner only while every proxy is on backoff.
  const setHidden = (id, hidden) => {
    const el = byId(id);
    if (el.hidden !== hidden) el.hidden = hidden;
  };

  const renderIdentities = (m) => {
    const proxies = m.proxies ?? [];
    const sessions = m.sessions ?? { live: 0, created: 0, retired: 0 };
    setHidden('proxies-down', m.proxiesDown !== true);
    setHidden('identities', proxies.length === 0 && sessions.live === 0 && sessions.created === 0);
    setText('s-live', num(sessions.live));
    setText('s-created', num(sessions.created));
    setText('s-retired', num(sessions.retired));
    setHidden('proxies', proxies.length === 0);
    byId('proxies').tBodies[0].replaceChildren(
      ...proxies.map((p) => {
        const back = p.state === 'backoff' && p.backoffMs > 0;
        const tr = row([
          cell(p.display, 'proxy'),
          cell(num(p.requests), 'num requests'),
          cell(num(p.errors), 'num errors'),
          cell(p.state, p.state === 'up' ? 's2 state' : 'backoff state'),
          cell(back ? `${(p.backoffMs / 1000).toFixed(1)} s` : '–', back ? 'num backoff' : 'num'),
        ]);
        tr.dataset.proxy = p.display;
        return tr;
      }),
    );
    const total = m.proxiesTotal ?? proxies.length;
    setText('proxies-note', total > proxies.length ? `first ${proxies.length} of ${total} proxies` : '');
  };

  const renderTiles = (m) => {
    setText('t-elapsed', duration(m.at - m.startedAt));
    setText('t-requests', num(m.requests.total));
    setText('t-pages', num(m.pagesStored));
    setText('t-errors', num(m.errors.total));
    setText('t-retries', num(m.retries.total));
    setText('t-bytes', bytes(m.responseBytes));
    setText('t-inflight', num(m.inFlight));
    setText('t-conns', `${num(m.openConnections)} / ${num(m.connectionCap)}`);
    setText('t-tokens', m.limiter.tokens.toFixed(1));
    setText('t-hosts', `${num(m.hosts.seen)} (${num(m.hosts.inBackoff)})`);
    setText('t-rss', bytes(m.process.rssBytes));
    setText('t-lag', `${(m.process.eventLoopLagSeconds * 1000).toFixed(1)} ms`);
  };

  let updates = 0;
  const render = (snap) => {
    if (charts.length === 0) makeCharts();
    renderTiles(snap.metrics);
    updateCharts(snap.series);
    renderQueues(snap.metrics);
    renderIdentities(snap.metrics);
    renderHosts(snap);
    renderPages(snap.pages);
    renderErrors(snap.errors);
    document.body.dataset.updates = String(++updates);
  };

  // --- connection -----------------------------------------------------------------------------
  const conn = byId('conn');
  const setConn = (state, text) => {
    conn.dataset.state = state;
    conn.textContent = text;
  };
  // The token (when the server needs one) rides along in the query as well as in the cookie.
  const events = new EventSource(`/events${location.search}`);
  events.onopen = () => setConn('live', 'live');
  events.onerror = () => setConn('down', 'disconnected — retrying');
  events.onmessage = (ev) => {
    let snap;
    try {
      snap = JSON.parse(ev.data);
    } catch {
      return;
    }
    render(snap);
  };
})();
