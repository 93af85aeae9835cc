/*! FlightDeck fd.js 1.0.0 | docs/SNIPPET.md */
// The FlightDeck tracking snippet. One tag installs it:
//   <script async src="https://GATEWAY/fd.js" data-write-key="..."></script>
// Readable ES2017 without dependencies; the gateway serves it gzip-compressed (docs/SNIPPET.md has the API, the
// markup it reads, its privacy rules and its delivery guarantees).
(() => {
  'use strict';
  const VERSION = '1.0.0';
  const w = window, d = document, nav = navigator;
  // A named <img>, <form>, <embed> or <object> is a property of the document that hides the Document's own members
  // (<img name="title">: document.title is that image), and a form's controls hide its members (a control named
  // getAttribute or closest): the document and elements are read through their prototypes. The listeners are the
  // window's, which named elements never hide, in the capture phase for the events fired at the document (which
  // pass the window on their way there, whether they bubble or not).
  const get = (proto, name, o) => Object.getOwnPropertyDescriptor(proto, name).get.call(o);
  const doc = (name) => get(Document.prototype, name, d);
  const attrOf = (el, name) => Element.prototype.getAttribute.call(el, name);
  const stub = w.flightdeck;
  // loaded twice: the first copy keeps working
  if (stub && stub.version) return;

  // ---- configuration: the script tag's data- attributes ----
  const tag = doc('currentScript') || Document.prototype.querySelector.call(d, 'script[data-write-key]');
  const attr = (name, fallback) => {
    const v = tag && tag.getAttribute('data-' + name);
    return v == null || v === '' ? fallback : v;
  };
  const WRITE_KEY = attr('write-key', '');
  // the gateway that served this script, unless the site proxies it elsewhere (ad-blockers know default paths)
  const ENDPOINT = attr('endpoint', '')
    ? new URL(attr('endpoint'), location.href).href
    : new URL('/v1/events', (tag && tag.src) || location.href).href;
  const AUTO_PAGEVIEW = attr('auto-pageview', 'true') !== 'false';
  const TRACK_LINKS = attr('track-links', 'false') === 'true';
  const RESPECT_DNT = attr('respect-dnt', 'true') !== 'false';
  const REQUIRE_CONSENT = attr('require-consent', 'false') === 'true';
  // 0 sends each event at once; a value that is no number of milliseconds is the default
  const FLUSH_MS = +attr('flush-ms', 1000) >= 0 ? +attr('flush-ms', 1000) : 1000;

  // per request (the gateway takes 500)
  const BATCH_EVENTS = 100;
  // queued events that send at once instead of waiting for FLUSH_MS
  const BATCH_TRIGGER = 20;
  // per request (the gateway takes 512 KiB)
  const BATCH_BYTES = 256 * 1024;
  // a page may have 64 KiB of beacons and keepalive requests pending
  const BEACON_BYTES = 60000;
  const KEEPALIVE = typeof Request == 'function' && 'keepalive' in Request.prototype;
  // undelivered events kept in localStorage; the oldest go first
  const STORED_MAX = 500;
  // one event's data: the gateway's limit is 32,768 bytes (413 above) as it serializes it, which may differ a little
  const DATA_BYTES = 32000;
  const SESSION_IDLE_MS = 30 * 60 * 1000;
  const MAX_BACKOFF_MS = 60000;
  // a request without an answer by then is given up (a gateway or proxy that takes it and never answers would hold
  // the queue for ever) and sent again, as after a network failure, half of it first (flush): its ids make the
  // gateway store it once
  const REQUEST_MS = 30000;
  // built-in types and the version this snippet sends; any other type is a custom one (version 1)
  const BUILT_IN = { PageViewed: 2, ButtonClicked: 2, FormSubmitted: 2, ScreenViewed: 1, Identified: 1,
    GroupAssigned: 1, Aliased: 1 };
  const KEY = { visitor: 'fd.vid', session: 'fd.sid', user: 'fd.uid', consent: 'fd.consent', outbox: 'fd.outbox' };

  // ---- first-party storage: localStorage, or memory where it is blocked or full ----
  const memory = {};
  const load = (k) => {
    if (k in memory) return memory[k];
    try { return localStorage.getItem(k); } catch (e) { return null; }
  };
  const save = (k, v) => {
    try {
      if (v == null) localStorage.removeItem(k); else localStorage.setItem(k, v);
      delete memory[k];
    } catch (e) {
      if (v == null) delete memory[k]; else memory[k] = v;
    }
  };
  const parse = (text) => {
    try { return JSON.parse(text); } catch (e) { return null; }
  };

  const uuid = () => {
    const c = w.crypto;
    // secure contexts only
    if (c && c.randomUUID) return c.randomUUID();
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b); else for (let i = 0; i < 16; i++) b[i] = Math.random() * 256;
    // version 4
    b[6] = (b[6] & 15) | 64;
    // RFC 4122 variant
    b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  // Cuts to max UTF-16 units without splitting a surrogate pair: within the gateway's limits whether they count
  // characters (metadata) or code points (JSON Schema). A NUL or a lone surrogate (a script that cut an emoji in
  // two), which the gateway refuses (not storable, not UTF-8), becomes U+FFFD as the HTML parser makes a NUL: one
  // field a script filled must not cost the whole event. Surrogate pairs match first and stay.
  const cut = (v, max) => {
    if (v == null) return null;
    v = String(v).replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff\0]/g, (m) => m[1] ? m : '\ufffd');
    if (v.length > max) v = v.slice(0, max).replace(/[\ud800-\udbff]$/, '');
    return v;
  };
  const warn = (msg) => w.console && console.warn('flightdeck: ' + msg);

  // ---- privacy ----
  const dnt = [nav.doNotTrack, w.doNotTrack, nav.msDoNotTrack].some((v) => v === '1' || v === 'yes')
    || nav.globalPrivacyControl === true;
  // Whether anything may be captured or stored now. Do-Not-Track and Global Privacy Control win over consent(true)
  // unless the site turns them off (data-respect-dnt="false").
  const allowed = () => {
    if (refused || !WRITE_KEY || (RESPECT_DNT && dnt)) return false;
    const c = load(KEY.consent);
    return c === '1' || (c == null && !REQUIRE_CONSENT);
  };

  // ---- who and where ----
  const visitor = () => {
    let id = load(KEY.visitor);
    // none yet, or one the gateway would refuse as a stream id (another script's or version's data: over 200
    // characters, a control character, . or ..): a new visitor
    if (!id || id !== cut(id, 200) || /^\.\.?$|[\0-\x1f\x7f-\x9f]/.test(id)) save(KEY.visitor, (id = uuid()));
    return id;
  };
  const session = () => {
    const now = Date.now();
    let s = parse(load(KEY.session));
    if (!s || !s.id || !(now - s.at < SESSION_IDLE_MS)) s = { id: uuid() };
    s.at = now;
    save(KEY.session, JSON.stringify(s));
    return s.id;
  };
  let currentUrl = location.href;
  // for page views after SPA navigation: the previous URL
  let referrer = doc('referrer');

  // <meta name="fd:page-id"> is the page id (else the path); every other fd: meta tag is a page property
  const pageMeta = () => {
    const props = {};
    let pageId = null, n = 0;
    Document.prototype.querySelectorAll.call(d, 'meta[name^="fd:"]').forEach((m) => {
      const name = m.getAttribute('name').slice(3), value = cut(m.getAttribute('content') || '', 2048);
      if (name === 'page-id') pageId = value;
      else if (name && n++ < 50) props[cut(name, 128)] = value;
    });
    return { pageId: cut(pageId || location.pathname, 2048) || '/', props };
  };

  // Context on every event, as metadata (string values: the gateway's rule)
  const context = () => {
    const m = {
      'fd.library': 'fd.js/' + VERSION,
      // cut: stored ids may be another script's or version's data, and one refused value costs the event
      'fd.sessionId': cut(session(), 2048),
      'fd.url': cut(location.href, 2048),
      'fd.title': cut(doc('title'), 2048),
      'fd.referrer': cut(referrer, 2048),
      'fd.screen': w.screen ? screen.width + 'x' + screen.height : '',
      'fd.language': nav.language || '',
      'fd.userId': cut(load(KEY.user), 2048),
    };
    Object.keys(m).forEach((k) => { if (!m[k]) delete m[k]; });
    return m;
  };

  // ---- the queue: in memory, mirrored in localStorage until the gateway has it ----
  let queue = [];
  // refused: the gateway answered 401 or 403, and nothing more is captured or sent from this page
  let timer = 0, sending = null, retryAt = 0, backoff = 0, maxNext = BATCH_EVENTS, refused = false;

  // Each event is serialized once, when captured or read from fd.outbox: that JSON is what is measured, stored and
  // sent, however often. jsonList(events) is JSON.stringify(events), from the events' own JSON.
  const json = new WeakMap();
  const str = (e) => json.get(e) || json.set(e, JSON.stringify(e)).get(e);
  const jsonList = (events) => '[' + events.map(str).join() + ']';
  // fd.outbox's text as last read or written, and its events: parsed once
  let lastOutbox = [null, []];
  // events only, whatever another script or version left there: anything else would make every event throw
  const outbox = () => {
    const text = load(KEY.outbox);
    if (text !== lastOutbox[0]) {
      const list = parse(text);
      lastOutbox = [text, Array.isArray(list) ? list.filter((e) => e && e.id) : []];
    }
    return lastOutbox[1].slice();
  };
  const writeOutbox = (list) => {
    list = list.slice(-STORED_MAX);
    lastOutbox = [list.length ? jsonList(list) : null, list];
    save(KEY.outbox, lastOutbox[0]);
  };
  const ids = (events) => new Set(events.map((e) => e.id));
  const stash = (events) => {
    const add = ids(events);
    writeOutbox(outbox().filter((e) => !add.has(e.id)).concat(events));
  };
  const unstash = (events) => {
    const drop = ids(events), list = outbox(), left = list.filter((e) => !drop.has(e.id));
    if (left.length !== list.length) writeOutbox(left);
  };
  const forgetQueued = (events) => {
    const drop = ids(events);
    queue = queue.filter((e) => !drop.has(e.id));
  };

  // key: the entry of data (form fields, page properties) to cut when data is over the gateway's limit
  const enqueue = (type, data, key) => {
    if (!allowed()) return false;
    let e = { id: uuid(), type, streamId: visitor(), occurredAt: new Date().toISOString(), data,
      metadata: context() };
    if (BUILT_IN[type]) e.schemaVersion = BUILT_IN[type];
    // a JSON copy: data the page changes later stays as it was, and data with no JSON form (a cycle, a BigInt)
    // stops here instead of throwing into the page and in every later send. Its text is the event's JSON.
    try {
      let text = JSON.stringify(e);
      // data over the limit only when the whole event is: then fitted, and the event serialized again (rare)
      if (key && bytes(text) > DATA_BYTES) text = JSON.stringify((fit(data, key), e));
      json.set((e = JSON.parse(text)), text);
    } catch (x) {
      warn(`${type} not sent: ${x.message}`);
      return false;
    }
    queue.push(e);
    if (queue.length > STORED_MAX) queue = queue.slice(-STORED_MAX);
    stash([e]);
    schedule();
    return true;
  };

  const later = (ms) => {
    clearTimeout(timer);
    // a timer past 2^31-1 ms fires at once: a longer Retry-After waits in steps (flush() sets the next)
    timer = setTimeout(flush, Math.min(ms, 2e9));
  };
  const schedule = () => {
    // the answer sends what is queued
    if (sending || !queue.length) return;
    const wait = retryAt - Date.now();
    if (wait > 0) {
      // the retry's timer, set again when hiding the page cleared it (beaconAll)
      if (!timer) later(wait);
    } else if (queue.length >= BATCH_TRIGGER) {
      later(0);
    } else if (!timer) {
      later(FLUSH_MS);
    }
  };

  // UTF-8
  const bytes = (s) => new Blob([s]).size;
  // Leaves out the last entries of data[key] (form fields, page properties) until data is within the gateway's
  // limit: over it, the gateway refuses the whole event and the submission or page view would be lost
  const fit = (data, key) => {
    const obj = data[key] || {}, names = Object.keys(obj), out = [];
    let size = bytes(JSON.stringify(data));
    while (size > DATA_BYTES && names.length) {
      const k = names.pop();
      // "k":"v" and a comma
      size -= bytes(JSON.stringify(k) + JSON.stringify(obj[k])) + 2;
      delete obj[k];
      out.unshift(k);
    }
    if (out.length) warn(`over 32 KiB: left out ${key} ${out}`);
    return data;
  };
  // JSON.stringify({ writeKey, events }), each event's JSON made once
  const body = (events) => '{"writeKey":' + JSON.stringify(WRITE_KEY) + ',"events":' + jsonList(events) + '}';
  // The first events of list that fit one request of maxBytes and maxCount (at least one: if it alone is too
  // large, the gateway's answer or the browser's keepalive limit says so)
  const take = (list, maxBytes, maxCount) => {
    let size = 64 + WRITE_KEY.length, n = 0;
    while (n < list.length && n < maxCount) {
      size += bytes(str(list[n])) + 1;
      if (size > maxBytes && n) break;
      n++;
    }
    return list.slice(0, n);
  };

  // Sends the next batch; the promise settles with its answer (never rejects)
  function flush() {
    clearTimeout(timer);
    timer = 0;
    if (sending) return sending;
    const wait = retryAt - Date.now();
    if (wait > 0) {
      later(wait);
      return Promise.resolve();
    }
    // 'online' sends again
    if (!queue.length || nav.onLine === false) return Promise.resolve();
    const batch = take(queue, BATCH_BYTES, maxNext);
    // Given up unanswered (its answer read too): a link too slow to carry the batch in time (256 KiB takes 30 s
    // below 70 kbit/s) would time out again with the same, so the next request takes half as many events
    const c = w.AbortController && new AbortController();
    const t = c && setTimeout(() => {
      maxNext = Math.ceil(batch.length / 2);
      c.abort();
    }, REQUEST_MS);
    sending = send(batch, c && c.signal).catch(() => {}).then(() => {
      clearTimeout(t);
      sending = null;
      schedule();
    });
    return sending;
  }

  // The public flush: everything queued when called, in as many requests as it takes; settles when the last is
  // answered, or when a failure leaves the rest to its retry (never rejects)
  const flushAll = async () => {
    const wanted = ids(queue);
    do await flush();
    while (queue.some((e) => wanted.has(e.id)) && retryAt <= Date.now() && nav.onLine !== false);
  };

  const delivered = (batch) => {
    forgetQueued(batch);
    unstash(batch);
    backoff = 0;
    maxNext = Math.min(BATCH_EVENTS, maxNext * 2);
  };
  const drop = (batch, why) => {
    warn(`dropped ${batch.length} event(s): ${why}`);
    delivered(batch);
  };
  const retryIn = (ms) => {
    retryAt = Date.now() + ms;
    later(ms);
  };

  async function send(batch, signal) {
    let res;
    try {
      // a string body is sent as text/plain: a "simple" request, so no CORS preflight
      res = await fetch(ENDPOINT, { method: 'POST', body: body(batch), credentials: 'omit', signal });
    } catch (e) {
      // offline, blocked, cut off or unanswered: the events wait (also in localStorage) and go again with back-off
      backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 1000);
      return retryIn(backoff * (0.75 + Math.random() / 2));
    }
    if (res.ok) return delivered(batch);
    const s = res.status;
    if (s === 429 || s === 408 || s >= 500) {
      // Retry-After (seconds or a date) when the gateway gives it, else exponential back-off with jitter
      const after = res.headers.get('Retry-After');
      const ms = after == null ? NaN : isNaN(after) ? Date.parse(after) - Date.now() : after * 1000;
      backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 1000);
      return retryIn(ms >= 0 ? Math.max(ms, 500) : backoff * (0.75 + Math.random() / 2));
    }
    if (s === 400 || s === 413) return isolate(batch, await res.json().catch(() => null));
    // 401/403: a wrong write key, or an origin the site does not allow. No request from this page can succeed (the
    // write key and origin are the page's), so it drops what it queued and captures nothing more (allowed())
    refused = s === 401 || s === 403;
    drop(refused ? queue : batch, `the gateway answered ${s}${refused ? '; nothing more is sent' : ''}`);
  }

  // A batch is stored all or nothing: drop the events the gateway names, or halve the batch until it can
  function isolate(batch, answer) {
    const details = (answer && answer.error && answer.error.details) || [];
    const bad = batch.filter((e, i) => details.some((p) => p.index === i));
    if (batch.length === 1 || bad.length) {
      drop(bad.length ? bad : batch, details.map((p) => `${p.field} ${p.problem}`).join('; ') || 'refused');
    } else {
      maxNext = Math.ceil(batch.length / 2);
    }
    // the rest at once
    later(0);
  }

  // Page going away (closed, navigated, or hidden on mobile, where pagehide may never come): hand the queue to
  // the browser in keepalive requests it sends even after the page is gone, without cookies (a beacon would send
  // those of the gateway's host: the site's own behind a first-party proxy). Their answers are not read, so the
  // events stay in localStorage and the next page sends them again; their ids make the gateway store them once.
  const beaconAll = () => {
    settle();
    clearTimeout(timer);
    timer = 0;
    let rest = queue;
    while (rest.length && nav.onLine !== false) {
      const batch = take(rest, BEACON_BYTES, BATCH_EVENTS);
      rest = rest.slice(batch.length);
      try {
        // refused (over the 64 KiB a page may have pending): only hidden, the page takes it back from localStorage.
        // A browser without keepalive (Firefox before 133) would drop the request with the page: a beacon there
        if (KEEPALIVE) {
          fetch(ENDPOINT, { method: 'POST', body: body(batch), credentials: 'omit', keepalive: true }).catch(resume);
        } else if (!nav.sendBeacon(ENDPOINT, body(batch))) continue;
        forgetQueued(batch);
        // a throw: it stays queued
      } catch (e) {}
    }
    // only hidden, the page lives on: what is still queued goes by fetch
    schedule();
  };
  // Shown again, back from the back/forward cache, or a keepalive request refused: what those requests took may not
  // have arrived (their answers are not read, and the gateway may have refused them), and it is still in the
  // outbox: it goes again, stored once
  const resume = () => {
    if (!allowed()) return;
    const stored = outbox(), have = ids(stored);
    queue = stored.concat(queue.filter((e) => !have.has(e.id))).slice(-STORED_MAX);
    schedule();
  };

  // ---- automatic capture ----
  // the current page's view is queued (consent(true) sends it when it was not)
  let viewed = false;

  const pageView = (pageId, properties) => {
    const m = pageMeta();
    const props = Object.assign(m.props, properties);
    const data = { pageId: cut(pageId, 2048) || m.pageId, url: cut(location.href, 2048),
      title: cut(doc('title'), 1024) || null, referrer: cut(referrer, 2048) || null };
    if (Object.keys(props).length) data.properties = props;
    if (enqueue('PageViewed', data, 'properties')) viewed = true;
  };

  // SPA navigation: history.pushState/replaceState to another path, and back/forward
  let routeTimer = 0;
  const routed = () => {
    // same page, or only the hash
    if (location.href.split('#')[0] === currentUrl.split('#')[0]) return;
    // the previous page viewed: a URL an app changes while loading, before its first view, is no page of its own
    if (viewed) referrer = currentUrl;
    currentUrl = location.href;
    viewed = false;
    clearTimeout(routeTimer);
    // after the app has had its turn to update the title and the fd: meta tags
    routeTimer = setTimeout(() => AUTO_PAGEVIEW && pageView(), 0);
  };
  ['pushState', 'replaceState'].forEach((name) => {
    const original = history[name];
    history[name] = function () {
      const result = original.apply(this, arguments);
      routed();
      return result;
    };
  });
  w.addEventListener('popstate', routed);

  const label = (el) => cut(attrOf(el, 'data-fd-label') || attrOf(el, 'aria-label')
    || (el.tagName === 'INPUT' ? el.value || '' : get(Node.prototype, 'textContent', el) || '')
      .replace(/\s+/g, ' ').trim(), 1024) || null;

  // Clicks on [data-fd-button-id] (and on links, with data-track-links="true"). Capture phase: an app stopping
  // propagation does not hide them.
  w.addEventListener('click', (e) => {
    const el = e.target instanceof Element
      && Element.prototype.closest.call(e.target, TRACK_LINKS ? '[data-fd-button-id],a[href]' : '[data-fd-button-id]');
    if (!el) return;
    const id = attrOf(el, 'data-fd-button-id')
      || (Element.prototype.hasAttribute.call(el, 'href') && 'link:' + attrOf(el, 'href'));
    if (id) enqueue('ButtonClicked', { buttonId: cut(id, 256), label: label(el), pageId: pageMeta().pageId });
  }, true);

  // Submissions of form[data-fd-form-id], with only the fields the markup allows, read in the capture phase (before
  // the page's handlers run). Stored only when no handler cancelled the submission (preventDefault: validation that
  // failed, an app sending the form itself): decided once the dispatch is over, in a task of its own, or on leaving
  // the page (beaconAll), which a form that navigates away may reach first.
  // [form, data, submit event, or none for form.submit(): sent whatever the handlers did] not decided yet
  let submits = [];
  // A form is stored once per decision: form.submit() in a submit handler (cancelling or not), or twice in a row,
  // sends it once (each submission replaces the one planned before), with the fields of the last
  const settle = () => {
    const sent = new Map();
    submits.forEach(([form, data, e]) => (e && e.defaultPrevented) || sent.set(form, data));
    sent.forEach((data) => enqueue('FormSubmitted', data, 'formData'));
    submits = [];
  };
  const submitted = (form, e) => {
    const id = form instanceof HTMLFormElement && attrOf(form, 'data-fd-form-id');
    if (!id) return;
    submits.push([form, { formId: cut(id, 256), formData: fields(form), pageId: pageMeta().pageId }, e]);
    setTimeout(settle, 0);
  };
  w.addEventListener('submit', (e) => submitted(e.target, e), true);
  // form.submit() fires no submit event (reCAPTCHA's callback, an app that validated and cancelled first): seen here,
  // with the fields as they are now. A form not in the document is not sent. The page's call goes on unchanged
  // (its this, arguments, result and errors); ours never throws into it. A method: named submit, no constructor.
  const proto = w.HTMLFormElement && HTMLFormElement.prototype, submit = proto && proto.submit;
  if (submit) {
    proto.submit = { submit() {
      try { get(Node.prototype, 'isConnected', this) && submitted(this); } catch (x) {}
      return submit.apply(this, arguments);
    } }.submit;
  }

  // never sent, whatever the markup says: names that look secret, and autocomplete tokens for secrets and cards
  const SECRET_NAME =
    /pass|secret|token|csrf|xsrf|nonce|otp|api.?key|cvc|cvv|card.?(num|no)|cc.?(num|no|csc|exp)|iban|ssn/i;
  const SECRET_AUTOCOMPLETE = /password|one-time-code|^cc-|\scc-/;
  // fields typed or autofilled into while they were password fields: a "show password" button makes one a text
  // field before the form is sent, whatever its name
  const typedSecret = new WeakSet();
  w.addEventListener('input', (e) => e.target.type === 'password' && typedSecret.add(e.target), true);

  // A card number: 13 to 19 digits (spaces and dashes allowed) that pass the Luhn check
  const cardLike = (v) => {
    const digits = v.replace(/[\s-]/g, '');
    if (!/^\d{13,19}$/.test(digits)) return false;
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let x = +digits[digits.length - 1 - i];
      if (i % 2 && (x *= 2) > 9) x -= 9;
      sum += x;
    }
    return sum % 10 === 0;
  };

  // May this control's value be sent? Only when the form lists its name in data-fd-fields ("*": every visible
  // field) or the control has data-fd-field; never a password, file, secret-looking or card-number field; a
  // hidden field only when listed by name and not marked data-fd-secret.
  const sendable = (form, el, name, value) => {
    const listed = (attrOf(form, 'data-fd-fields') || '').split(/[\s,]+/);
    const explicit = listed.includes(name) || el.hasAttribute('data-fd-field');
    const type = (el.type || '').toLowerCase();
    if (!(explicit || (listed.includes('*') && type !== 'hidden'))) return false;
    return !(type === 'password' || type === 'file' || typedSecret.has(el) || el.hasAttribute('data-fd-secret')
      || SECRET_NAME.test(name) || SECRET_NAME.test(el.id || '')
      || SECRET_AUTOCOMPLETE.test((el.getAttribute('autocomplete') || '').toLowerCase()) || cardLike(value));
  };

  const fields = (form) => {
    // no prototype: a field named constructor or toString is no field seen before, and __proto__ is a field
    const out = Object.create(null);
    let n = 0;
    new FormData(form).forEach((value, name) => {
      // a file
      if (typeof value !== 'string') return;
      const found = get(proto, 'elements', form).namedItem(name);
      const controls = found && found.length != null && !found.tagName ? Array.from(found) : [found];
      if (!found || !controls.every((el) => sendable(form, el, name, value))) return;
      const key = cut(name, 256);
      // checkboxes, multiple selects
      if (key in out) out[key] = cut(out[key] + ',' + value, 1024);
      else if (n++ < 200) out[key] = cut(value, 1024);
    });
    return out;
  };

  // ---- the API ----
  const forget = () => {
    queue = [];
    clearTimeout(timer);
    timer = 0;
    viewed = false;
    [KEY.outbox, KEY.visitor, KEY.session, KEY.user].forEach((k) => save(k, null));
  };

  const api = {
    version: VERSION,
    page: (pageId, properties) => pageView(pageId, properties),
    track: (type, data) => {
      if (typeof type !== 'string' || !type) return warn('track(type, data) needs a type');
      data = Object.assign({}, data);
      const onPage = type === 'ButtonClicked' || type === 'FormSubmitted';
      if (onPage && data.pageId == null) data.pageId = pageMeta().pageId;
      enqueue(type, data);
    },
    // Links the anonymous visitor to a user: an Identified event on the visitor's stream with the user id and
    // traits; later events carry the user id as metadata fd.userId. identify(traits) adds traits only.
    identify: (userId, traits) => {
      if (userId && typeof userId === 'object') [traits, userId] = [userId, null];
      if (!allowed()) return;
      if (userId != null && userId !== '') save(KEY.user, cut(userId, 200));
      const data = { traits: Object.assign({}, traits) };
      if (load(KEY.user)) data.userId = load(KEY.user);
      enqueue('Identified', data);
    },
    // consent(false): nothing more is captured, the queue is cleared and the stored ids are deleted.
    consent: (granted) => {
      save(KEY.consent, granted ? '1' : '0');
      if (!granted) forget();
      else if (!viewed && AUTO_PAGEVIEW) pageView();
    },
    flush: flushAll,
    // Logs out: a new anonymous visitor and session, no user id
    reset: () => [KEY.visitor, KEY.session, KEY.user].forEach((k) => save(k, null)),
  };

  // consent withdrawn in another tab applies here too. Another tab's write of the outbox may have started from a
  // list without this tab's events (each process has its own copy of localStorage, updated later): they are stored
  // again, unless that would push others out (a full outbox loses its oldest anyway)
  w.addEventListener('storage', (e) => {
    if (e.key === KEY.consent && e.newValue === '0') forget();
    if (e.key === KEY.outbox) {
      const list = outbox(), have = ids(list), add = queue.filter((x) => !have.has(x.id));
      if (add.length && list.length + add.length <= STORED_MAX) writeOutbox(list.concat(add));
    }
  });
  w.addEventListener('online', () => {
    retryAt = backoff = 0;
    flush();
  });
  w.addEventListener('pagehide', beaconAll);
  w.addEventListener('visibilitychange', () => (doc('visibilityState') === 'hidden' ? beaconAll() : resume()), true);
  // back from the back/forward cache: a new view of the page
  w.addEventListener('pageshow', (e) => {
    if (!e.persisted) return;
    resume();
    if (AUTO_PAGEVIEW) pageView();
  });

  if (!WRITE_KEY) warn('no data-write-key on the script tag; nothing is sent');
  // events an earlier page could not deliver go first
  if (allowed()) queue = outbox();
  w.flightdeck = api;
  // calls made before the script loaded (the stub's queue), in order
  ((stub && stub.q) || []).forEach((call) => {
    if (typeof api[call[0]] === 'function') api[call[0]].apply(api, call[1] || []);
  });
  const start = () => {
    // a navigation while the page loaded: this view is of the URL it led to, and the only one
    clearTimeout(routeTimer);
    if (AUTO_PAGEVIEW && !viewed) pageView();
    schedule();
  };
  if (doc('readyState') === 'loading') w.addEventListener('DOMContentLoaded', start, true); else start();
})();
