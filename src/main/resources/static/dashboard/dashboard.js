// FlightDeck live dashboard: plain JavaScript, no framework, no build step; served from the gateway's jar.
//
// It reads only the gateway's own read API, with the read token:
//   GET /v1/live          the live feed (Server-Sent Events); EventSource cannot set headers, so the token
//                         travels as ?access_token= and a replaced EventSource resumes with ?lastEventId=;
//                         ?unnamed=true, so that every message reaches onmessage (see below)
//   GET /v1/event-counts  events per minute by type (a projection), refreshed and bumped live from the feed
//   GET /v1/pages         top pages today for one site (a projection)
//   GET /v1/schemas       the built-in event types, listed in the chart's legend from the start (no token needed)
//   GET /v1/events/head   the store's last position: checks the token at sign-in, and the feed resumes after it
//   GET /v1/events        a one-event read that tells a refused token from network trouble; every 10 s, the events
//                         shown, to find those a history change took from the store when no new event told of it
//
// The token is asked for once, in a form, and kept in sessionStorage: this tab only, gone when it closes.
// A 401 from anything clears it and shows the form again.
//
// The feed names each message after its event type (`event: PageViewed`) unless asked not to, and a named SSE
// message reaches only a listener for that name: a custom type (any Segment track name, say) that no list names
// would never be shown. With ?unnamed=true every message is a plain one, and its data says the type.
//
// All event data reaches the page through textContent or SVG text nodes, never as HTML.
//
// A page load runs one release's files. During a rolling deploy the page, this script and the style are three
// requests a balancer may send to two releases; the page names the script and the style by their content hash, and
// the gateway writes one build id into all three (DashboardHandler). Before anything else the script compares its
// own with the page's and the style's; when they differ it reloads the page, once: a flag in sessionStorage says a
// reload was tried, so two releases alternating behind the balancer cannot reload the tab in a loop (a second mixed
// load runs as it is and clears the flag, so a later load of the tab may try once again).
(() => {
  'use strict';

  // written by the gateway as it serves this file
  const BUILD = '{{build}}';
  const RELOAD_KEY = 'flightdeck.reloadedForRelease';
  const TOKEN_KEY = 'flightdeck.readToken';
  const SITE_KEY = 'flightdeck.site';
  const BUILT_IN_TYPES = ['PageViewed', 'ButtonClicked', 'FormSubmitted'];
  // the key of the summed counts of the types /v1/event-counts does not name: no type name holds a control character
  const OTHER_TYPES = '\u0000other';
  // what an Authorization header can carry (fetch throws on anything else): Latin-1, no control characters
  const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]+$/;
  const MAX_ROWS = 200;
  const MAX_SUMMARY = 120;
  // answers of /v1/event-counts read per refresh: an hour of counts is one answer, or two with very long type names
  const MAX_COUNT_ANSWERS = 4;
  const TOP_PAGES = 10;
  const MINUTES = 60;
  const MINUTE_MS = 60 * 1000;
  const SERIES_COLOURS = 6;
  // named series in the chart and its legend: the built-in and schema types, the 20 /v1/event-counts names, and
  // room to spare; a site may send any number of custom type names, and the rest are summed as other types
  const MAX_TYPES = 30;
  const REFRESH_MS = 10 * 1000;
  // the page-stats projection usually follows the store within milliseconds; ask again shortly after a page view
  const PAGES_AFTER_VIEW_MS = 1500;
  const REOPEN_FIRST_MS = 1000;
  const REOPEN_MAX_MS = 30 * 1000;

  const STATES = {
    connecting: 'opening the live feed',
    live: 'receiving events as they are stored',
    reconnecting: 'the live feed is interrupted; resuming after the last event shown',
    unauthorized: 'enter the read token',
  };

  const $ = (id) => document.getElementById(id);

  const app = {
    token: sessionStorage.getItem(TOKEN_KEY),
    site: sessionStorage.getItem(SITE_KEY) || 'demo',
    source: null,                          // the current EventSource
    types: [...BUILT_IN_TYPES],            // known types, in series (colour) order
    lastPosition: null,                    // position of the last event shown
    // the store's last position when the token was checked: the feed starts after it, so a replaced EventSource
    // resumes from there even before any event was shown (page code never sees an id that comes without data)
    startedAfter: null,
    reopenDelay: REOPEN_FIRST_MS,
    timers: { reopen: null, refresh: null, pages: null, render: null },
    probing: false,
    counts: new Map(),                     // minute (ms) -> Map(type -> count)
    windowEnd: null,                       // end (exclusive, ms) of the charted hour, in server time
    loading: { counts: false, pages: false, history: false },
    verified: -1,                          // the newest row's position the store was found to hold
    pagesAgain: false,                     // asked for pages while a request was out (another site, say)
    waitingRows: [],                       // events for the list not drawn yet, oldest first, at most MAX_ROWS
    frame: null,                           // the animation frame that draws them
  };

  class Unauthorized extends Error {}

  // ---- one release ---------------------------------------------------------------------------------------------

  function isOneRelease() {
    const page = document.querySelector('meta[name="flightdeck-build"]');
    // a deferred script runs once the style sheets before it are in: the style's build is there to read
    const style = getComputedStyle(document.documentElement).getPropertyValue('--flightdeck-build')
      .trim().replace(/^"(.*)"$/, '$1');
    return page !== null && page.content === BUILD && style === BUILD;
  }

  // answers whether the page is being reloaded, when its files are of two releases and no reload was tried yet
  function reloadIfMixed() {
    if (isOneRelease() || sessionStorage.getItem(RELOAD_KEY) !== null) {
      sessionStorage.removeItem(RELOAD_KEY);
      return false;
    }
    sessionStorage.setItem(RELOAD_KEY, BUILD);
    location.reload();
    return true;
  }

  // ---- start-up and the token ---------------------------------------------------------------------------------

  function init() {
    document.addEventListener('visibilitychange', onVisibilityChange);
    $('token-form').addEventListener('submit', onTokenSubmit);
    $('sign-out').addEventListener('click', () => signOut(''));
    $('site-form').addEventListener('submit', onSiteSubmit);
    $('site-input').value = app.site;
    if (app.token) {
      connect(app.token, 'The stored read token was refused. Enter it again.');
    } else {
      showTokenForm('');
    }
  }

  async function onTokenSubmit(event) {
    event.preventDefault();
    const token = $('token-input').value.trim();
    if (token && !HEADER_SAFE.test(token)) {
      // fetch cannot put it in a header, and would fail as if the gateway were unreachable
      showTokenError('That token holds a character no read token can: an invisible one or a typographic quote, '
        + 'pasted along with it, say. Enter it again.');
    } else if (token) {
      connect(token, 'That token was refused: it is not this gateway\'s read token.');
    }
  }

  // checks the token with one small read before anything else uses it, so a wrong token costs one request; the
  // read is the store's head, where the live feed then starts
  async function connect(token, refusedMessage) {
    showTokenError('');
    $('token-submit').disabled = true;
    let status;
    let head = null;
    try {
      const response = await fetch('/v1/events/head', { headers: authorization(token), cache: 'no-store' });
      status = response.status;
      if (response.ok) {
        head = (await response.json()).head;
      }
    } catch (e) {
      status = status || 0;
    } finally {
      $('token-submit').disabled = false;
    }
    if (status === 401) {
      signOut(refusedMessage);
    } else if (status === 0 && !app.token) {
      showTokenForm('Cannot reach the gateway. Check the connection and try again.');
    } else {
      // a stored token with the gateway briefly unreachable: start anyway, the feed keeps trying
      sessionStorage.setItem(TOKEN_KEY, token);
      app.token = token;
      // unknown when the gateway was unreachable: the first feed then starts wherever the gateway is by then
      app.startedAfter = Number.isSafeInteger(head) ? head : null;
      $('token-input').value = '';
      start();
    }
  }

  function start() {
    $('token-panel').hidden = true;
    $('dashboard').hidden = false;
    $('sign-out').hidden = false;
    openLiveFeed();
    loadTypes();
    refreshCounts();
    refreshPages();
    app.timers.refresh = setInterval(refresh, REFRESH_MS);
  }

  // every 10 s: the reads still out are not asked for again
  function refresh() {
    refreshCounts();
    if (!app.loading.pages) {
      refreshPages();
    }
    checkHistory();
  }

  // a hidden tab's timers may run only once a minute (browsers throttle them), so its chart and top pages may be a
  // minute old when it comes back: they are read at once, and the 10 s refresh counts from there
  function onVisibilityChange() {
    if (document.visibilityState !== 'visible' || !app.token || app.timers.refresh === null) {
      return;
    }
    clearInterval(app.timers.refresh);
    app.timers.refresh = setInterval(refresh, REFRESH_MS);
    refresh();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    app.token = null;
    closeLiveFeed();
    for (const name of Object.keys(app.timers)) {
      clearTimeout(app.timers[name]);
      clearInterval(app.timers[name]);
      app.timers[name] = null;
    }
    showTokenForm(message);
  }

  function showTokenForm(message) {
    setState('unauthorized');
    $('dashboard').hidden = true;
    $('sign-out').hidden = true;
    $('token-panel').hidden = false;
    showTokenError(message);
    $('token-input').focus();
  }

  function showTokenError(message) {
    $('token-error').textContent = message;
    $('token-error').hidden = !message;
  }

  function setState(name) {
    const el = $('state');
    if (el.dataset.state === name && el.title) {
      return; // each event says live: no style work for it
    }
    el.dataset.state = name;
    el.textContent = name;
    el.title = STATES[name];
  }

  function authorization(token) {
    return { Authorization: 'Bearer ' + token };
  }

  // GET with the token; a 401 signs out (and throws Unauthorized), other failures throw for the caller to note
  async function getJson(path) {
    const response = await fetch(path, { headers: authorization(app.token), cache: 'no-store' });
    if (response.status === 401) {
      signOut('The gateway refused the read token. Enter it again.');
      throw new Unauthorized();
    }
    if (!response.ok) {
      throw new Error('the gateway answered ' + response.status);
    }
    return response.json();
  }

  // ---- the live feed -----------------------------------------------------------------------------------------

  function openLiveFeed() {
    closeLiveFeed();
    let url = '/v1/live?unnamed=true&access_token=' + encodeURIComponent(app.token);
    // a new EventSource has no Last-Event-ID of its own to send: the query parameter resumes in its place, after
    // the last event shown, or where the first feed started
    const after = Math.max(app.lastPosition === null ? -1 : app.lastPosition,
      app.startedAfter === null ? -1 : app.startedAfter);
    if (after >= 0) {
      url += '&lastEventId=' + after;
    }
    const source = new EventSource(url);
    app.source = source;
    setState(app.lastPosition === null ? 'connecting' : 'reconnecting');
    source.onopen = () => {
      app.reopenDelay = REOPEN_FIRST_MS;
      setState('live');
    };
    source.onerror = () => onLiveError(source);
    source.onmessage = onLiveMessage;
  }

  function closeLiveFeed() {
    if (app.source) {
      app.source.close();
      app.source = null;
    }
    clearTimeout(app.timers.reopen);
    app.timers.reopen = null;
  }

  async function loadTypes() {
    try {
      const answer = await getJson('/v1/schemas');
      for (const schema of answer.schemas || []) {
        knowType(schema.type);
      }
    } catch (e) {
      // the legend lists the built-in types, and every other type once it is counted
    }
  }

  // answers whether the type has a series of its own; the summed other types always get one
  function knowType(type) {
    if (!app.types.includes(type) && (app.types.length < MAX_TYPES || type === OTHER_TYPES)) {
      app.types.push(type);
    }
    return app.types.includes(type);
  }

  function onLiveError(source) {
    if (source !== app.source) {
      return;
    }
    setState('reconnecting');
    if (source.readyState === EventSource.CLOSED) {
      // the browser gave up on this EventSource (a 401 or 503 answer, say): open another one later
      scheduleReopen();
    }
    probeToken();
  }

  function scheduleReopen() {
    clearTimeout(app.timers.reopen);
    app.timers.reopen = setTimeout(() => {
      if (app.token) {
        openLiveFeed();
      }
    }, app.reopenDelay);
    app.reopenDelay = Math.min(app.reopenDelay * 2, REOPEN_MAX_MS);
  }

  // EventSource never shows the status of a failed attempt: an ordinary read with the same token tells a refused
  // token (401: sign out) from network trouble (EventSource keeps retrying, with Last-Event-ID)
  async function probeToken() {
    if (app.probing || !app.token) {
      return;
    }
    app.probing = true;
    try {
      await getJson('/v1/events?limit=1');
    } catch (e) {
      // Unauthorized has signed out; anything else is the connection, which the feed retries on its own
    } finally {
      app.probing = false;
    }
  }

  function onLiveMessage(message) {
    let envelope;
    try {
      envelope = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    const position = Number(message.lastEventId || envelope.position);
    if (!Number.isSafeInteger(position)) {
      return;
    }
    if (app.lastPosition !== null && position <= app.lastPosition) {
      // a feed never sends a position twice, and a replaced one resumes after the last event shown: the store's
      // history changed (a failover, docs/API.md), and the events shown from this position on are gone
      forgetFrom(position);
    }
    showLastPosition(position);
    setState('live');
    addLiveRow(envelope, position);
    bumpCount(envelope);
    if (envelope.type === 'PageViewed' && !app.timers.pages) {
      app.timers.pages = setTimeout(() => {
        app.timers.pages = null;
        refreshPages();
      }, PAGES_AFTER_VIEW_MS);
    }
  }

  function showLastPosition(position) {
    app.lastPosition = position;
    $('last-position').textContent = 'last event #' + position;
  }

  // drops the rows of the events the store no longer holds, those at or after the position; the chart's counts
  // come from the store again at once
  function forgetFrom(position) {
    app.waitingRows = app.waitingRows.filter((waiting) => waiting.position < position);
    const list = $('live-list');
    for (const row of [...list.rows]) {
      if (Number(row.dataset.position) >= position) {
        row.remove();
      }
    }
    $('live-empty').hidden = list.rows.length + app.waitingRows.length > 0;
    // where the first feed started may be past the new history's events
    app.startedAfter = null;
    refreshCounts();
  }

  // The live feed tells the page of a history change only with an event in a position the page has shown (an id
  // line alone never reaches page code), and a promoted replica may give out positions past the lost ones (its
  // sequence is logged ahead), or none at all for a while. So every 10 s the page asks the store for the events it
  // shows since the last row the store was found to hold (that one included: a history change loses the store's
  // last events, so while it holds that row it holds every row before it), at most a list's worth, and drops the
  // rows whose position the store gives another event or none.
  async function checkHistory() {
    const rows = [...$('live-list').rows]; // newest first, as drawn when asked
    if (!rows.length || app.loading.history || !app.token) {
      return;
    }
    app.loading.history = true;
    try {
      const after = Math.max(app.verified - 1, Number(rows[rows.length - 1].dataset.position) - 1);
      const events = (await getJson('/v1/events?after=' + after + '&limit=' + MAX_ROWS)).events || [];
      const stored = new Map(events.map((e) => [String(e.position), e.id]));
      // rows past a full page are judged by the next check
      const readTo = events.length < MAX_ROWS ? Infinity : events[events.length - 1].position;
      const judged = rows.filter((row) => Number(row.dataset.position) > after
        && Number(row.dataset.position) <= readTo);
      const lost = judged.filter((row) => stored.get(row.dataset.position) !== row.dataset.id);
      if (lost.length) {
        forgetRows(lost);
        app.verified = -1; // the rows before the first one found lost are judged again next time
      } else if (judged.length) {
        app.verified = Number(judged[0].dataset.position);
      }
    } catch (e) {
      // Unauthorized has signed out; anything else is checked again with the next refresh
    } finally {
      app.loading.history = false;
    }
  }

  // rows drawn since the check began are the feed's, of the new history, and stay
  function forgetRows(lost) {
    const positions = new Set(lost.map((row) => Number(row.dataset.position)));
    lost.forEach((row) => row.remove());
    $('live-empty').hidden = $('live-list').rows.length + app.waitingRows.length > 0;
    if (positions.has(app.lastPosition)) {
      // a replaced feed resumes before the lost events, so every event of the new history shows
      showLastPosition(Math.min(...positions) - 1);
    }
    app.startedAfter = null;
    refreshCounts();
  }

  // the rows are drawn once a frame: a burst of events builds only the rows the list keeps, and a tab in the
  // background (no frames) builds none until it is in front again; the rows waiting are at most the list's
  function addLiveRow(envelope, position) {
    app.waitingRows.push({ envelope, position });
    if (app.waitingRows.length > MAX_ROWS) {
      app.waitingRows.shift();
    }
    if (app.frame === null) {
      app.frame = requestAnimationFrame(drawRows);
    }
  }

  function drawRows() {
    app.frame = null;
    const rows = app.waitingRows.splice(0).reverse().map(({ envelope, position }) => liveRow(envelope, position));
    const list = $('live-list');
    list.prepend(...rows);
    while (list.rows.length > MAX_ROWS) {
      list.deleteRow(-1);
    }
    $('live-empty').hidden = list.rows.length > 0;
  }

  function liveRow(envelope, position) {
    const row = document.createElement('tr');
    row.dataset.position = String(position);
    row.dataset.id = String(envelope.id);
    const time = envelope.recordedAt || envelope.occurredAt;
    row.append(
      cell(formatTime(time), 'time', time),
      cell(envelope.type, 'type'),
      cell(envelope.streamId, 'stream'),
      cell(summary(envelope), 'summary'));
    return row;
  }

  function cell(text, className, title) {
    const td = document.createElement('td');
    td.className = className;
    td.textContent = text == null ? '' : String(text);
    if (title) {
      td.title = title;
    }
    return td;
  }

  // the identifying field of the built-in types, else the first few plain fields of data
  function summary(envelope) {
    const data = envelope.data || {};
    let text;
    if (typeof data.pageId === 'string' && envelope.type === 'PageViewed') {
      text = data.pageId;
    } else if (typeof data.buttonId === 'string') {
      text = data.buttonId + (typeof data.pageId === 'string' ? ' on ' + data.pageId : '');
    } else if (typeof data.formId === 'string') {
      const fields = data.formData && typeof data.formData === 'object' ? Object.keys(data.formData).length : 0;
      text = data.formId + ' (' + fields + (fields === 1 ? ' field)' : ' fields)');
    } else {
      text = Object.entries(data)
        .filter(([, value]) => value !== null && typeof value !== 'object')
        .slice(0, 3)
        .map(([key, value]) => key + '=' + value)
        .join(' ');
    }
    return clip(text);
  }

  function clip(text) {
    const s = text == null ? '' : String(text);
    if (s.length <= MAX_SUMMARY) {
      return s;
    }
    // never half of an emoji's surrogate pair
    const end = /[\ud800-\udbff]/.test(s[MAX_SUMMARY - 2]) ? MAX_SUMMARY - 2 : MAX_SUMMARY - 1;
    return s.slice(0, end) + '…';
  }

  // ---- events per minute -------------------------------------------------------------------------------------

  async function refreshCounts() {
    if (app.loading.counts || !app.token) {
      return;
    }
    app.loading.counts = true;
    try {
      let answer = await getJson('/v1/event-counts');
      const first = answer;
      const counts = new Map();
      // an answer holds about 1 MiB of whole minutes: an hour of 20 very long type names may take a second one
      for (let answers = 1; ; answers++) {
        for (const row of answer.counts || []) {
          // the gateway names the most frequent types and sums the rest under a null type
          addCount(counts, parseTime(row.minute), row.type === null ? OTHER_TYPES : row.type, row.count);
        }
        if (!answer.next || answers === MAX_COUNT_ANSWERS) {
          break;
        }
        answer = await getJson('/v1/event-counts?from=' + encodeURIComponent(first.from) + '&to='
          + encodeURIComponent(first.to) + '&after=' + encodeURIComponent(answer.next));
      }
      answer = first;
      // the projection is the truth: it replaces whatever the feed bumped since the last refresh
      app.counts = counts;
      app.windowEnd = parseTime(answer.to);
      $('rate-note').textContent = '';
      renderCounts();
    } catch (e) {
      if (!(e instanceof Unauthorized)) {
        $('rate-note').textContent = 'Could not refresh: ' + e.message + '. Retrying.';
      }
    } finally {
      app.loading.counts = false;
    }
  }

  function bumpCount(envelope) {
    const minute = Math.floor(parseTime(envelope.recordedAt) / MINUTE_MS) * MINUTE_MS;
    if (Number.isNaN(minute)) {
      return;
    }
    addCount(app.counts, minute, envelope.type, 1);
    if (app.windowEnd === null || minute >= app.windowEnd) {
      app.windowEnd = minute + MINUTE_MS;
    }
    // a burst of events draws the chart once
    if (!app.timers.render) {
      app.timers.render = setTimeout(() => {
        app.timers.render = null;
        renderCounts();
      }, 250);
    }
  }

  function addCount(counts, minute, type, n) {
    if (!knowType(type)) {
      type = OTHER_TYPES;
      knowType(type);
    }
    if (!counts.has(minute)) {
      counts.set(minute, new Map());
    }
    const byType = counts.get(minute);
    byType.set(type, (byType.get(type) || 0) + n);
  }

  function renderCounts() {
    if (app.windowEnd === null) {
      return;
    }
    const start = app.windowEnd - MINUTES * MINUTE_MS;
    const minutes = [];
    const totals = new Map(app.types.map((type) => [type, 0]));
    for (let i = 0; i < MINUTES; i++) {
      const minute = start + i * MINUTE_MS;
      const byType = app.counts.get(minute) || new Map();
      minutes.push({ minute, byType });
      for (const [type, n] of byType) {
        totals.set(type, (totals.get(type) || 0) + n);
      }
    }
    drawChart(minutes);
    drawLegend(totals);
  }

  const SVG = 'http://www.w3.org/2000/svg';
  const CHART = { width: 600, height: 180, left: 34, right: 6, top: 10, bottom: 20 };

  function svg(name, attributes, text) {
    const el = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) {
      el.setAttribute(key, String(value));
    }
    if (text !== undefined) {
      el.textContent = text;
    }
    return el;
  }

  function drawChart(minutes) {
    const c = CHART;
    const plotWidth = c.width - c.left - c.right;
    const plotHeight = c.height - c.top - c.bottom;
    const peak = Math.max(1, ...minutes.map(({ byType }) => sum(byType.values())));
    const slot = plotWidth / minutes.length;
    const root = svg('svg', { viewBox: '0 0 ' + c.width + ' ' + c.height, role: 'img',
      'aria-label': 'events per minute by type, last hour' });
    root.append(
      svg('line', { class: 'axis', x1: c.left, y1: c.top + plotHeight, x2: c.width - c.right, y2: c.top + plotHeight }),
      svg('line', { class: 'axis', x1: c.left, y1: c.top, x2: c.left, y2: c.top + plotHeight }),
      svg('text', { x: c.left - 4, y: c.top + 8, 'text-anchor': 'end' }, scaleLabel(peak)),
      svg('text', { x: c.left - 4, y: c.top + plotHeight, 'text-anchor': 'end' }, '0'),
      svg('text', { x: c.left, y: c.height - 4 }, '60 min ago'),
      svg('text', { x: c.left + plotWidth / 2, y: c.height - 4, 'text-anchor': 'middle' }, '30'),
      svg('text', { x: c.width - c.right, y: c.height - 4, 'text-anchor': 'end' }, 'now'));
    minutes.forEach(({ minute, byType }, i) => {
      let y = c.top + plotHeight;
      for (const type of app.types) {
        const n = byType.get(type) || 0;
        if (n === 0) {
          continue;
        }
        const h = (n / peak) * plotHeight;
        y -= h;
        const bar = svg('rect', { class: 'bar ' + seriesClass(type), 'data-type': typeName(type),
          x: (c.left + i * slot + slot * 0.1).toFixed(2), y: y.toFixed(2),
          width: (slot * 0.8).toFixed(2), height: Math.max(h, 0.5).toFixed(2) });
        bar.append(svg('title', {}, formatMinute(minute) + ' ' + type + ': ' + n));
        root.append(bar);
      }
    });
    $('rate-chart').replaceChildren(root);
  }

  function drawLegend(totals) {
    const items = [];
    for (const type of app.types) {
      const li = document.createElement('li');
      li.dataset.type = typeName(type);
      const swatch = document.createElement('span');
      swatch.className = 'swatch ' + seriesClass(type);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = typeName(type) + ' ';
      const total = document.createElement('span');
      total.className = 'total';
      total.textContent = String(totals.get(type) || 0);
      li.append(swatch, name, total);
      items.push(li);
    }
    $('rate-legend').replaceChildren(...items);
  }

  // the scale's top fits left of the axis in four characters at most: 93500 would begin past the chart's edge
  // and read 3500
  function scaleLabel(n) {
    if (n < 10000) {
      return String(n);
    }
    for (const [unit, size] of [['k', 1e3], ['M', 1e6], ['G', 1e9]]) {
      const value = n / size;
      if (value < 999.5 || unit === 'G') {
        return (value < 9.95 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value))) + unit;
      }
    }
    return String(n);
  }

  function typeName(type) {
    return type === OTHER_TYPES ? 'other types' : type;
  }

  function seriesClass(type) {
    return 'series-' + (app.types.indexOf(type) % SERIES_COLOURS);
  }

  function sum(values) {
    let total = 0;
    for (const v of values) {
      total += v;
    }
    return total;
  }

  // ---- top pages today ---------------------------------------------------------------------------------------

  function onSiteSubmit(event) {
    event.preventDefault();
    const site = $('site-input').value.trim();
    if (site) {
      app.site = site;
      sessionStorage.setItem(SITE_KEY, site);
      refreshPages();
    }
  }

  async function refreshPages() {
    if (app.loading.pages) {
      app.pagesAgain = true;
      return;
    }
    if (!app.token) {
      return;
    }
    app.loading.pages = true;
    const site = app.site;
    try {
      const answer = await getJson('/v1/pages?site=' + encodeURIComponent(site) + '&limit=' + TOP_PAGES);
      if (site === app.site) {
        drawPages(answer.pages || [], site);
      }
    } catch (e) {
      if (!(e instanceof Unauthorized)) {
        $('pages-note').textContent = 'Could not refresh: ' + e.message + '. Retrying.';
      }
    } finally {
      app.loading.pages = false;
      if (app.pagesAgain) {
        app.pagesAgain = false;
        refreshPages();
      }
    }
  }

  function drawPages(pages, site) {
    const rows = pages.slice(0, TOP_PAGES).map((page) => {
      const row = document.createElement('tr');
      // a page id may be 2,048 characters long: the cell shows its start, the tooltip all of it
      row.append(cell(clip(page.pageId), 'page', page.pageId), cell(page.views, 'num'),
        cell(page.uniqueVisitors, 'num'));
      return row;
    });
    $('pages-list').replaceChildren(...rows);
    $('pages-note').textContent = rows.length ? '' : 'No page views today for site ' + site + ' yet.';
  }

  // ---- time --------------------------------------------------------------------------------------------------

  // the gateway writes up to microseconds; Date.parse wants at most milliseconds
  function parseTime(iso) {
    return typeof iso === 'string' ? Date.parse(iso.replace(/(\.\d{3})\d+/, '$1')) : NaN;
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function formatTime(iso) {
    const t = parseTime(iso);
    if (Number.isNaN(t)) {
      return '';
    }
    const d = new Date(t);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function formatMinute(ms) {
    const d = new Date(ms);
    return pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  if (!reloadIfMixed()) {
    init();
  }
})();
