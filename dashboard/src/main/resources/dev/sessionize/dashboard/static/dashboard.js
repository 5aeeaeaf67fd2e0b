// The live dashboard: polls /api/dashboard every second and renders it.
// Everything that comes from the data (page URLs, countries, devices, messages) goes into the DOM
// with textContent only, never as markup: a page URL such as "<script>...</script>" shows as text.
'use strict';

(function () {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 5000;
  const TABLE_ROWS = 10;
  const COLORS = {
    page_views: '#2563eb',
    clicks: '#10b981',
    purchases: '#f59e0b',
    other: '#9ca3af',
    revenue: '#7c3aed',
    unique_users: '#0ea5e9',
    sessions_started: '#ef4444',
  };

  const byId = (id) => document.getElementById(id);
  let charts = null;
  let lastGoodAt = null;

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function formatInt(n) {
    return Number(n).toLocaleString('en-US');
  }

  // Exact: the server sends revenue as a decimal string ("1234567.50"); only separators are added.
  function formatMoney(text) {
    const negative = text.startsWith('-');
    const [whole, fraction = '00'] = (negative ? text.slice(1) : text).split('.');
    return (negative ? '-' : '') + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + fraction;
  }

  function formatAge(ms) {
    if (ms < 1000) return ms + ' ms ago';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s ago';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s ago';
    if (ms < 172800000) return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min ago';
    return Math.floor(ms / 86400000) + ' days ago';
  }

  function timeOf(iso) {
    return iso ? iso.substring(11, 19) + ' UTC' : '';
  }

  function showBanner(state, text) {
    const banner = byId('banner');
    banner.dataset.state = state;
    banner.textContent = text;
    banner.hidden = text === '';
  }

  function fillTable(tableId, rows, nameKey, countKey) {
    const body = byId(tableId).tBodies[0];
    body.replaceChildren();
    const total = rows.reduce((sum, row) => sum + row[countKey], 0);
    for (const row of rows.slice(0, TABLE_ROWS)) {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      name.textContent = row[nameKey];
      const count = document.createElement('td');
      count.className = 'num';
      count.textContent = formatInt(row[countKey]);
      const share = document.createElement('td');
      const percent = total > 0 ? (100 * row[countKey]) / total : 0;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.max(1, Math.round(percent)) + 'px';
      const label = document.createElement('span');
      label.className = 'share';
      label.textContent = percent.toFixed(1) + ' %';
      share.append(bar, label);
      tr.append(name, count, share);
      body.append(tr);
    }
    if (rows.length > TABLE_ROWS) {
      const rest = rows.slice(TABLE_ROWS);
      const tr = document.createElement('tr');
      tr.className = 'more';
      const td = document.createElement('td');
      td.colSpan = 3;
      td.textContent =
        rest.length + ' more: ' + formatInt(rest.reduce((sum, row) => sum + row[countKey], 0)) + ' events';
      tr.append(td);
      body.append(tr);
    }
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      tr.className = 'more';
      const td = document.createElement('td');
      td.colSpan = 3;
      td.textContent = 'none';
      tr.append(td);
      body.append(tr);
    }
  }

  function makeCharts() {
    if (typeof window.Chart !== 'function') {
      for (const id of ['chart-events', 'chart-revenue', 'chart-users']) {
        const note = document.createElement('p');
        note.className = 'chart-missing';
        note.textContent = 'The chart library (vendor/chart.umd.js) did not load.';
        byId(id).replaceWith(note);
      }
      return {};
    }
    const common = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: { x: { ticks: { maxTicksLimit: 13, autoSkip: true } } },
    };
    const dataset = (key, label, extra) =>
      Object.assign({ label, data: [], backgroundColor: COLORS[key], borderColor: COLORS[key] }, extra || {});
    return {
      events: new window.Chart(byId('chart-events'), {
        type: 'bar',
        data: {
          labels: [],
          datasets: [
            dataset('page_views', 'page views'),
            dataset('clicks', 'clicks'),
            dataset('purchases', 'purchases'),
            dataset('other', 'other'),
          ],
        },
        options: Object.assign({}, common, {
          scales: { x: { stacked: true, ticks: { maxTicksLimit: 13 } }, y: { stacked: true, beginAtZero: true } },
        }),
      }),
      revenue: new window.Chart(byId('chart-revenue'), {
        type: 'bar',
        data: { labels: [], datasets: [dataset('revenue', 'revenue')] },
        options: Object.assign({}, common, { plugins: { legend: { display: false } } }),
      }),
      users: new window.Chart(byId('chart-users'), {
        type: 'line',
        data: {
          labels: [],
          datasets: [
            dataset('unique_users', 'unique users', { pointRadius: 0, tension: 0.2 }),
            dataset('sessions_started', 'sessions started', { pointRadius: 0, tension: 0.2 }),
          ],
        },
        options: common,
      }),
    };
  }

  function updateCharts(minutes) {
    if (charts === null) charts = makeCharts();
    const labels = minutes.map((m) => m.minute);
    const series = (chart, keys, parse) => {
      if (!chart) return;
      chart.data.labels = labels;
      keys.forEach((key, i) => {
        chart.data.datasets[i].data = minutes.map((m) => (parse ? parse(m[key]) : m[key]));
      });
      chart.update('none');
    };
    series(charts.events, ['page_views', 'clicks', 'purchases', 'other']);
    // The chart only draws the revenue; the figures on the page are the exact strings.
    series(charts.revenue, ['revenue'], Number.parseFloat);
    series(charts.users, ['unique_users', 'sessions_started']);
  }

  function renderFreshness(data) {
    const box = byId('freshness');
    if (data.age_ms === null || data.age_ms === undefined) {
      box.className = 'freshness unknown';
      setText('freshness-age', 'unknown');
      setText('freshness-at', '');
      return;
    }
    // The spec's target: fresh within 3 s (p99).
    box.className = 'freshness ' + (data.age_ms <= 3000 ? 'fresh' : data.age_ms <= 60000 ? 'lagging' : 'stale');
    setText('freshness-age', formatAge(data.age_ms));
    setText('freshness-at', '(at ' + timeOf(data.newest_update) + ')');
  }

  function render(data) {
    setText('redis-where', data.redis || '–');
    const content = byId('content');
    if (data.status !== 'ok') {
      const retry = 'Retrying every second. ';
      const kept = lastGoodAt
        ? 'The figures below are from the last good read, at ' + timeOf(lastGoodAt) + '.'
        : 'Nothing to show yet.';
      if (data.status === 'no_data') {
        showBanner('no_data', 'Redis at ' + data.redis + ' has no dashboard: ' + data.message +
          '. Start the job with --dashboardSink=redis; the page fills in when the first minute arrives.');
      } else if (data.status === 'redis_unreachable') {
        showBanner('redis_unreachable', 'Redis is unreachable at ' + data.redis + ' (' + data.message + '). ' + retry + kept);
      } else {
        showBanner('redis_error', 'Redis at ' + data.redis + ' answered with an error (' + data.message + '). ' + retry + kept);
      }
      content.classList.toggle('stale-data', lastGoodAt !== null);
      if (data.status !== 'no_data') {
        const box = byId('freshness');
        box.className = 'freshness unknown';
        setText('freshness-age', 'unknown');
        setText('freshness-at', '(Redis unreachable)');
      } else {
        renderFreshness(data);
      }
      return;
    }
    lastGoodAt = data.server_time;
    showBanner('ok', '');
    content.classList.remove('stale-data', 'no-data');
    const t = data.totals;
    setText('window-from', data.from.substring(11, 16));
    setText('window-to', data.to.substring(11, 16));
    setText('latest-minute', data.latest_minute);
    setText('minutes-with-data', String(t.minutes_with_data));
    setText('total-events', formatInt(t.events));
    setText('total-page-views', formatInt(t.page_views));
    setText('total-clicks', formatInt(t.clicks));
    setText('total-purchases', formatInt(t.purchases));
    setText('total-other', formatInt(t.other));
    setText('total-revenue', formatMoney(t.revenue));
    setText('unique-users', formatInt(t.unique_users_newest_minute));
    setText('unique-users-peak', formatInt(t.unique_users_peak_minute));
    setText('unique-users-minute', t.newest_minute_with_data || 'none');
    setText('sessions-started', formatInt(t.sessions_started));
    setText('bad-documents', data.bad_documents > 0
      ? '· ' + data.bad_documents + ' unreadable dash:minute document(s) skipped' : '');
    renderFreshness(data);
    fillTable('top-pages', data.top_pages, 'page', 'views');
    fillTable('by-country', data.by_country, 'name', 'events');
    fillTable('by-device', data.by_device, 'name', 'events');
    updateCharts(data.minutes);
  }

  function serverDown(error) {
    showBanner('server_unreachable', 'The dashboard server does not answer (' + error.message + '). Retrying every second. ' +
      (lastGoodAt ? 'The figures below are from ' + timeOf(lastGoodAt) + '.' : ''));
    byId('content').classList.toggle('stale-data', lastGoodAt !== null);
    byId('freshness').className = 'freshness unknown';
    setText('freshness-age', 'unknown');
    setText('freshness-at', '');
  }

  async function poll() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      let data;
      try {
        const response = await fetch('api/dashboard', { cache: 'no-store', signal: abort.signal });
        if (!response.ok) throw new Error('HTTP ' + response.status);
        data = await response.json();
      } catch (error) {
        serverDown(error);
        return;
      }
      try {
        render(data);
      } catch (error) {
        showBanner('page_error', 'The page could not show the data: ' + error.message);
      }
    } finally {
      clearTimeout(timer);
      setText('last-refresh', new Date().toISOString().substring(11, 19) + ' UTC');
      setTimeout(poll, POLL_MS);
    }
  }

  // The pipeline-health panel: /api/health (the job's Prometheus metrics, read by the server),
  // polled every second beside the dashboard; hidden when the server has no --metricsUrls.
  function renderHealth(health) {
    byId('health').hidden = !health.configured;
    if (!health.configured) return;
    const error = byId('health-error');
    error.hidden = health.ok;
    byId('health').classList.toggle('stale-data', !health.ok);
    if (!health.ok) {
      error.textContent = 'The metrics cannot be read: ' + health.error + '. Retrying every second.';
      return;
    }
    setText('health-rate', health.recordsPerSecond === null ? '–' : formatInt(Math.round(health.recordsPerSecond)));
    setText('health-read', formatInt(health.recordsRead));
    setText('health-backlog', formatInt(health.sourceBacklog));
    setText('health-window', String(health.deadLetterWindowSeconds));
    const reasons = Object.entries(health.deadLettersLastMinute);
    setText('health-dead-letters', formatInt(reasons.reduce((sum, [, n]) => sum + n, 0)));
    const body = byId('health-reasons').tBodies[0];
    body.replaceChildren();
    for (const [reason, n] of reasons) {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      name.textContent = reason;
      const count = document.createElement('td');
      count.className = 'num';
      count.textContent = formatInt(n);
      tr.append(name, count);
      body.append(tr);
    }
  }

  async function pollHealth() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const response = await fetch('api/health', { cache: 'no-store', signal: abort.signal });
      if (response.ok) renderHealth(await response.json());
    } catch (error) {
      // the dashboard's own banner says when the server does not answer
    } finally {
      clearTimeout(timer);
      setTimeout(pollHealth, POLL_MS);
    }
  }

  poll();
  pollHealth();
})();
