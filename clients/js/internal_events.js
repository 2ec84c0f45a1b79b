// otel-internal-events browser client.
//
// One ES module, no dependencies. Tracks Internal Events from the browser: validates each call,
// queues events in the page, and sends them in batches to the events API
// (POST /api/v4/usage_data/track_events), with retries, and with a beacon when the page is hidden.
//
// Nothing runs at import time: the page context is read, and the page-hide listeners are added,
// on first use. The module can be imported in Node without a DOM.

/**
 * @typedef {Object<string, unknown> & {label?: string, property?: string, value?: number}} AdditionalProperties
 */

/**
 * The page context the server renders (JSON), and what `configure()` can override.
 * @typedef {Object} PageContext
 * @property {string} [endpoint] URL of the batch endpoint. Default "/api/v4/usage_data/track_events".
 * @property {string | (() => (string | null | undefined))} [token] Short-lived signed token, sent as `Authorization: Bearer <token>`.
 * @property {number | string | null} [user_id] The signed-in user; without it, events are not sent unless `send_anonymous`.
 * @property {number | null} [namespace_id]
 * @property {number | null} [project_id]
 * @property {boolean} [send_anonymous] Send events of anonymous visitors too. Default false.
 * @property {boolean} [respect_dnt] Send nothing when the browser's Do Not Track is on. Default false.
 */

/**
 * @typedef {PageContext & {
 *   flushIntervalMs?: number,
 *   maxBatch?: number,
 *   maxRetries?: number,
 *   retryBaseMs?: number,
 *   fetch?: (url: string, init: Object) => Promise<{status: number, ok?: boolean, headers?: {get(name: string): (string | null)}}>,
 *   sendBeacon?: (url: string, data: Blob | string) => boolean,
 * }} Options
 */

/**
 * One event as it goes over the wire.
 * @typedef {Object} WireEvent
 * @property {string} event
 * @property {number | string | null} namespace_id
 * @property {number | string | null} project_id
 * @property {Object<string, unknown>} additional_properties
 * @property {true} send_to_snowplow
 * @property {string} [category]
 */

const CONTEXT_SCRIPT_ID = 'otel-internal-events-context';
const CONTEXT_META_NAME = 'otel-internal-events';
const DEFAULT_ENDPOINT = '/api/v4/usage_data/track_events';
/** Events in one request: the API's limit. */
const API_MAX_BATCH = 50;
/**
 * Most JSON a batch's body holds: browsers allow 64 KiB for a beacon, and for the keepalive
 * requests in flight together; a batch under this leaves the page however it is hidden.
 */
const MAX_BODY_BYTES = 60000;
/** Room for `{"events":[]}`, the token and the idempotency key of a beacon's body. */
const BODY_OVERHEAD_BYTES = 512;

const CONTEXT_KEYS = ['endpoint', 'token', 'user_id', 'namespace_id', 'project_id', 'send_anonymous', 'respect_dnt'];
const OPTION_KEYS = ['flushIntervalMs', 'maxBatch', 'maxRetries', 'retryBaseMs', 'fetch', 'sendBeacon'];
const DEFAULTS = Object.freeze({
  endpoint: DEFAULT_ENDPOINT,
  token: undefined,
  user_id: undefined,
  namespace_id: undefined,
  project_id: undefined,
  send_anonymous: false,
  respect_dnt: false,
  flushIntervalMs: 500,
  maxBatch: API_MAX_BATCH,
  maxRetries: 5,
  retryBaseMs: 500,
  fetch: undefined,
  sendBeacon: undefined,
});

const BASE_PROPERTIES = ['label', 'property', 'value'];

/**
 * @typedef {Object} Batch
 * @property {string} id The Idempotency-Key, the same for every attempt of this batch.
 * @property {WireEvent[]} events
 * @property {number} attempts Attempts made so far.
 * @property {number} generation The `reset()` generation the batch belongs to.
 * @property {any} [retryTimer] Set while the batch waits for a retry.
 * @property {(delivered: boolean) => void} settle Called once when the batch is delivered or given up.
 * @property {boolean} settled
 */

/** Internal state; `reset()` puts it back to what it is after import. */
const state = {
  /** @type {Record<string, unknown>} configure() overrides */
  overrides: {},
  /** @type {Record<string, unknown> | null} the page context, read on first use */
  pageContext: null,
  /** @type {WireEvent[]} */
  queue: [],
  /** @type {any} */
  flushTimer: null,
  /** @type {Set<Batch>} batches waiting for a retry */
  waiting: new Set(),
  /** @type {Set<Batch>} batches being sent */
  inFlight: new Set(),
  generation: 0,
  /** @type {(() => void) | null} removes the page-hide listeners */
  removeLifecycle: null,
  /** @type {WeakMap<object, () => void>} bound parents and their dispose functions */
  bound: new WeakMap(),
  /** @type {Set<() => void>} dispose functions of the bindings still active */
  disposers: new Set(),
};

// ---------------------------------------------------------------------------------------------
// Environment (guarded: the module must import and run without a DOM)

function getDocument() {
  return typeof document === 'undefined' ? undefined : document;
}

function getWindow() {
  return typeof window === 'undefined' ? undefined : window;
}

function getNavigator() {
  return typeof navigator === 'undefined' ? undefined : navigator;
}

function warn(...args) {
  if (typeof console !== 'undefined' && typeof console.warn === 'function') {
    console.warn('[otel-internal-events]', ...args);
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseContextJson(text, where) {
  try {
    const parsed = JSON.parse(text);
    if (isPlainObject(parsed)) return parsed;
    warn(`the page context in ${where} is not a JSON object; ignored`);
  } catch (error) {
    warn(`the page context in ${where} is not valid JSON; ignored`, error);
  }
  return null;
}

/** Reads the server-rendered page context: the JSON script tag first, then the meta tag. */
function readPageContext() {
  const doc = getDocument();
  if (!doc || typeof doc.getElementById !== 'function') return {};
  const script = doc.getElementById(CONTEXT_SCRIPT_ID);
  if (script) {
    const parsed = parseContextJson(script.textContent || '', `<script id="${CONTEXT_SCRIPT_ID}">`);
    if (parsed) return parsed;
  }
  const meta = typeof doc.querySelector === 'function' ? doc.querySelector(`meta[name="${CONTEXT_META_NAME}"]`) : null;
  if (meta) {
    const parsed = parseContextJson(meta.getAttribute('content') || '', `<meta name="${CONTEXT_META_NAME}">`);
    if (parsed) return parsed;
  }
  return {};
}

/** The settings in force: defaults, then the page context, then configure() overrides. */
function settings() {
  if (state.pageContext === null) state.pageContext = readPageContext();
  /** @type {Record<string, any>} */
  const merged = { ...DEFAULTS };
  for (const key of CONTEXT_KEYS) {
    if (state.pageContext[key] !== undefined) merged[key] = state.pageContext[key];
  }
  for (const [key, value] of Object.entries(state.overrides)) {
    if (value !== undefined) merged[key] = value;
  }
  merged.maxBatch = Math.max(1, Math.min(API_MAX_BATCH, Math.floor(Number(merged.maxBatch)) || API_MAX_BATCH));
  merged.flushIntervalMs = Math.max(0, Number(merged.flushIntervalMs) || 0);
  merged.maxRetries = Math.max(0, Math.floor(Number(merged.maxRetries)) || 0);
  merged.retryBaseMs = Math.max(0, Number(merged.retryBaseMs) || 0);
  return merged;
}

function isBlank(value) {
  return value === undefined || value === null || value === '';
}

function doNotTrack() {
  const nav = getNavigator();
  const win = getWindow();
  const flags = [nav && nav.doNotTrack, nav && /** @type {any} */ (nav).msDoNotTrack, win && /** @type {any} */ (win).doNotTrack];
  return flags.some((flag) => flag === '1' || flag === 'yes');
}

function currentToken(config) {
  let token = config.token;
  if (typeof token === 'function') {
    try {
      token = token();
    } catch (error) {
      warn('the token function failed; sending without a token', error);
      token = undefined;
    }
  }
  return isBlank(token) ? undefined : String(token);
}

function randomId() {
  const cryptoApi = typeof globalThis.crypto === 'undefined' ? undefined : globalThis.crypto;
  if (cryptoApi && typeof cryptoApi.randomUUID === 'function') return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (cryptoApi && typeof cryptoApi.getRandomValues === 'function') {
    cryptoApi.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * Checks the arguments of `trackEvent` and throws an Error when they are wrong: `event` must be
 * a non-empty string; `label` and `property`, when present, strings; `value`, when present, a
 * finite number (0 and decimals are fine); `category`, when given, a string. Custom keys are
 * allowed (the server checks them against the event's definition). Returns a copy of the
 * properties with absent (`undefined`/`null`) `label`/`property`/`value` removed.
 *
 * @param {unknown} event
 * @param {unknown} [additionalProperties]
 * @param {unknown} [category]
 * @returns {Record<string, unknown>}
 */
export function validateTrackEvent(event, additionalProperties = {}, category = undefined) {
  if (typeof event !== 'string' || event.trim() === '') {
    throw new Error(`InternalEvents.trackEvent: the event name must be a non-empty string, got ${describe(event)}`);
  }
  const given = additionalProperties === null ? {} : additionalProperties;
  if (!isPlainObject(given)) {
    throw new Error(`InternalEvents.trackEvent("${event}"): additionalProperties must be an object, got ${describe(given)}`);
  }
  if (category !== undefined && category !== null && typeof category !== 'string') {
    throw new Error(`InternalEvents.trackEvent("${event}"): the category must be a string, got ${describe(category)}`);
  }
  /** @type {Record<string, unknown>} */
  let copy;
  try {
    copy = JSON.parse(JSON.stringify(given));
  } catch (error) {
    throw new Error(`InternalEvents.trackEvent("${event}"): additionalProperties must be JSON-serialisable (${error})`);
  }
  for (const key of BASE_PROPERTIES) {
    const value = /** @type {Record<string, unknown>} */ (given)[key];
    if (value === undefined || value === null) {
      delete copy[key];
    } else if (key === 'value') {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new Error(`InternalEvents.trackEvent("${event}"): value should be a finite number, got ${describe(value)}`);
      }
    } else if (typeof value !== 'string') {
      throw new Error(`InternalEvents.trackEvent("${event}"): ${key} should be a string, got ${describe(value)}`);
    }
  }
  return copy;
}

function describe(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Transport

function requestHeaders(config, batch) {
  /** @type {Record<string, string>} */
  const headers = { 'Content-Type': 'application/json', 'Idempotency-Key': batch.id };
  const token = currentToken(config);
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

function fetchFunction(config) {
  if (typeof config.fetch === 'function') return config.fetch;
  if (typeof globalThis.fetch === 'function') return globalThis.fetch.bind(globalThis);
  return null;
}

function beaconFunction(config) {
  if (typeof config.sendBeacon === 'function') return config.sendBeacon;
  const nav = getNavigator();
  if (nav && typeof nav.sendBeacon === 'function') return nav.sendBeacon.bind(nav);
  return null;
}

/** @param {WireEvent[]} events @returns {Batch} */
function newBatch(events) {
  /** @type {any} */
  const batch = { id: randomId(), events, attempts: 0, generation: state.generation, settled: false };
  batch.promise = new Promise((resolve) => {
    batch.settle = (/** @type {boolean} */ delivered) => {
      if (batch.settled) return;
      batch.settled = true;
      resolve(delivered);
    };
  });
  return batch;
}

/**
 * Takes every queued event, cut into batches of at most `maxBatch` events and MAX_BODY_BYTES of
 * JSON, so that any batch can leave as a beacon or a keepalive fetch when the page is hidden.
 */
function drainQueue(config) {
  if (state.flushTimer !== null) {
    clearTimeout(state.flushTimer);
    state.flushTimer = null;
  }
  const batches = [];
  let events = [];
  let bytes = BODY_OVERHEAD_BYTES;
  for (const event of state.queue) {
    const size = utf8Length(JSON.stringify(event)) + 1;
    if (events.length > 0 && (events.length >= config.maxBatch || bytes + size > MAX_BODY_BYTES)) {
      batches.push(newBatch(events));
      events = [];
      bytes = BODY_OVERHEAD_BYTES;
    }
    events.push(event);
    bytes += size;
  }
  if (events.length > 0) batches.push(newBatch(events));
  state.queue.length = 0;
  return batches;
}

function utf8Length(text) {
  return typeof TextEncoder === 'function' ? new TextEncoder().encode(text).length : text.length * 3;
}

/** Whether `endpoint` is on the page's origin (a JSON beacon elsewhere would need CORS with credentials). */
function sameOrigin(endpoint) {
  const win = getWindow();
  const location = win && win.location;
  if (!location || typeof URL !== 'function') return true;
  try {
    return new URL(endpoint, location.href).origin === location.origin;
  } catch (error) {
    return false;
  }
}

function retryAfterMs(response) {
  const header = response && response.headers && typeof response.headers.get === 'function' ? response.headers.get('Retry-After') : null;
  if (isBlank(header)) return null;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/**
 * Sends one batch with fetch; on a retryable failure, schedules the next attempt. `keepalive`
 * only when the page is being hidden: the browser allows 64 KiB of keepalive requests in flight
 * in all, which a busy page's ordinary batches could use up.
 */
function send(batch, keepalive = false) {
  const config = settings();
  const doFetch = fetchFunction(config);
  batch.attempts += 1;
  if (!doFetch) {
    warn(`no fetch function: dropping ${batch.events.length} event(s)`);
    batch.settle(false);
    return;
  }
  const init = {
    method: 'POST',
    keepalive,
    credentials: 'omit', // the token authenticates; no cookie is ever sent
    headers: requestHeaders(config, batch),
    body: JSON.stringify({ events: batch.events }),
  };
  state.inFlight.add(batch);
  let request;
  try {
    request = Promise.resolve(doFetch(config.endpoint, init));
  } catch (error) {
    request = Promise.reject(error);
  }
  request.then(
    (response) => {
      state.inFlight.delete(batch);
      if (batch.generation !== state.generation || batch.settled) return;
      const status = Number(response && response.status);
      if (status >= 200 && status < 300) {
        batch.settle(true);
      } else if (status === 429 || status >= 500) {
        retry(batch, `HTTP ${status}`, retryAfterMs(response));
      } else {
        warn(`the events API refused ${batch.events.length} event(s) with HTTP ${status}; dropped`);
        batch.settle(false);
      }
    },
    (error) => {
      state.inFlight.delete(batch);
      if (batch.generation !== state.generation || batch.settled) return;
      retry(batch, String(error), null);
    },
  );
}

function retry(batch, reason, delayMs) {
  const config = settings();
  if (batch.attempts > config.maxRetries) {
    warn(`giving up on ${batch.events.length} event(s) after ${batch.attempts} attempts (${reason})`);
    batch.settle(false);
    return;
  }
  const delay = delayMs === null ? config.retryBaseMs * 2 ** (batch.attempts - 1) : delayMs;
  state.waiting.add(batch);
  batch.retryTimer = setTimeout(() => {
    state.waiting.delete(batch);
    batch.retryTimer = undefined;
    send(batch);
  }, delay);
}

function scheduleFlush(config) {
  if (state.flushTimer !== null) return;
  state.flushTimer = setTimeout(() => {
    state.flushTimer = null;
    flush();
  }, config.flushIntervalMs);
}

/**
 * Sends everything queued now (with fetch), in batches of at most `maxBatch` events. The promise
 * resolves when those batches are settled — delivered, refused, or given up after retries — to
 * true when all were delivered.
 * @returns {Promise<boolean>}
 */
export function flush() {
  const batches = drainQueue(settings());
  batches.forEach((batch) => send(batch));
  return Promise.all(batches.map((/** @type {any} */ batch) => batch.promise)).then((results) => results.every(Boolean));
}

/**
 * The page is being hidden (maybe for good): send the queue, every batch waiting for a retry, and
 * every batch whose request is still unanswered (the navigation may cancel it; sent again under
 * its own idempotency key, it is counted once) at once. To the page's own origin with
 * `navigator.sendBeacon`: a beacon carries no headers, so its body also has `token` and
 * `idempotency_key`. To another origin, or when there is no sendBeacon or it returns false, with
 * a keepalive fetch and its headers.
 */
function sendAllOnPageHide() {
  const config = settings();
  const batches = [...state.waiting];
  for (const batch of batches) {
    clearTimeout(batch.retryTimer);
    batch.retryTimer = undefined;
    state.waiting.delete(batch);
  }
  batches.push(...[...state.inFlight].filter((batch) => !batch.settled));
  batches.push(...drainQueue(config));
  if (batches.length === 0) return;
  const beacon = sameOrigin(config.endpoint) ? beaconFunction(config) : null;
  const token = currentToken(config);
  for (const batch of batches) {
    /** @type {Record<string, unknown>} */
    const payload = { events: batch.events };
    if (token) payload.token = token;
    payload.idempotency_key = batch.id;
    let queued = false;
    if (beacon) {
      try {
        const body = JSON.stringify(payload);
        const data = typeof Blob === 'function' ? new Blob([body], { type: 'application/json' }) : body;
        queued = beacon(config.endpoint, data) === true;
      } catch (error) {
        queued = false;
      }
    }
    if (queued) {
      batch.attempts += 1;
      batch.settle(true);
    } else {
      send(batch, true);
    }
  }
}

function ensureLifecycle() {
  if (state.removeLifecycle) return;
  const win = getWindow();
  const doc = getDocument();
  const onPageHide = () => sendAllOnPageHide();
  const onVisibility = () => {
    if (doc && doc.visibilityState === 'hidden') sendAllOnPageHide();
  };
  if (win && typeof win.addEventListener === 'function') win.addEventListener('pagehide', onPageHide);
  if (doc && typeof doc.addEventListener === 'function') doc.addEventListener('visibilitychange', onVisibility);
  state.removeLifecycle = () => {
    if (win && typeof win.removeEventListener === 'function') win.removeEventListener('pagehide', onPageHide);
    if (doc && typeof doc.removeEventListener === 'function') doc.removeEventListener('visibilitychange', onVisibility);
  };
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Sets or overrides the page context and transport options. Calls accumulate; `reset()` clears them.
 * @param {Options} options
 */
export function configure(options = {}) {
  if (!isPlainObject(options)) throw new TypeError('InternalEvents.configure: options must be an object');
  for (const key of Object.keys(options)) {
    if (!CONTEXT_KEYS.includes(key) && !OPTION_KEYS.includes(key)) {
      throw new TypeError(
        `InternalEvents.configure: unknown option "${key}" (known: ${[...CONTEXT_KEYS, ...OPTION_KEYS].join(', ')})`,
      );
    }
  }
  Object.assign(state.overrides, options);
}

/**
 * Tracks an internal event. Throws an Error at once on bad input (see `validateTrackEvent`).
 * Events of anonymous visitors (no `user_id`) are dropped unless `send_anonymous`, and every
 * event is dropped when `respect_dnt` is set and Do Not Track is on; dropping is silent.
 *
 * @param {string} event The event name, as in its definition file.
 * @param {AdditionalProperties} [additionalProperties] `label`, `property`, `value` and custom properties.
 * @param {string} [category] The Snowplow category (for example the page), omitted when not given.
 * @returns {boolean} true when the event was queued for sending, false when it was dropped.
 */
function trackEvent(event, additionalProperties = {}, category = undefined) {
  const properties = validateTrackEvent(event, additionalProperties, category);
  const config = settings();
  if (config.respect_dnt === true && doNotTrack()) return false;
  if (isBlank(config.user_id) && config.send_anonymous !== true) return false;
  /** @type {WireEvent} */
  const wire = {
    event,
    namespace_id: isBlank(config.namespace_id) ? null : config.namespace_id,
    project_id: isBlank(config.project_id) ? null : config.project_id,
    additional_properties: properties,
    send_to_snowplow: true,
  };
  if (typeof category === 'string') wire.category = category;
  ensureLifecycle();
  state.queue.push(wire);
  if (state.queue.length >= config.maxBatch) {
    flush();
  } else {
    scheduleFlush(config);
  }
  return true;
}

/**
 * A Vue 2/3 mixin: `this.trackEvent(event, additionalProperties, category)` in components.
 * @returns {{methods: {trackEvent(event: string, additionalProperties?: AdditionalProperties, category?: string): boolean}}}
 */
function mixin() {
  return {
    methods: {
      trackEvent(event, additionalProperties, category) {
        return InternalEvents.trackEvent(event, additionalProperties, category);
      },
    },
  };
}

/**
 * Forgets everything: configure() overrides, the cached page context, queued events, batches
 * waiting for a retry (answers to requests in flight are ignored), page-hide listeners, and
 * bindings of documents. For tests.
 */
function reset() {
  state.generation += 1;
  if (state.flushTimer !== null) clearTimeout(state.flushTimer);
  state.flushTimer = null;
  for (const batch of state.waiting) clearTimeout(/** @type {any} */ (batch).retryTimer);
  for (const batch of [...state.waiting, ...state.inFlight]) /** @type {any} */ (batch).settle(false);
  state.waiting.clear();
  state.inFlight.clear();
  state.queue = [];
  state.overrides = {};
  state.pageContext = null;
  if (state.removeLifecycle) state.removeLifecycle();
  state.removeLifecycle = null;
  for (const dispose of [...state.disposers]) dispose();
  state.disposers.clear();
}

// ---------------------------------------------------------------------------------------------
// Data attributes

const TRACKING_SELECTOR = '[data-event-tracking]';
const LOAD_SELECTOR = '[data-event-tracking-load="true"]';

/**
 * The properties an element's data-event-* attributes describe.
 * @param {Element} element
 * @returns {AdditionalProperties}
 */
function propertiesFromAttributes(element) {
  /** @type {Record<string, unknown>} */
  const properties = {};
  const label = element.getAttribute('data-event-label');
  if (!isBlank(label)) properties.label = label;
  const property = element.getAttribute('data-event-property');
  if (!isBlank(property)) properties.property = property;
  const rawValue = element.getAttribute('data-event-value');
  if (rawValue !== null && rawValue.trim() !== '') {
    const value = Number(rawValue.trim());
    if (Number.isFinite(value)) {
      properties.value = value;
    } else {
      warn(`data-event-value="${rawValue}" is not a number; ignored`);
    }
  }
  const additional = element.getAttribute('data-event-additional');
  if (additional !== null && additional.trim() !== '') {
    let parsed;
    try {
      parsed = JSON.parse(additional);
    } catch (error) {
      parsed = undefined;
      warn(`data-event-additional is not valid JSON; ignored: ${additional}`);
    }
    if (isPlainObject(parsed)) {
      Object.assign(properties, parsed);
    } else if (parsed !== undefined) {
      warn(`data-event-additional is not a JSON object; ignored: ${additional}`);
    }
  }
  return properties;
}

function trackElement(element, why) {
  const event = element.getAttribute('data-event-tracking');
  try {
    InternalEvents.trackEvent(/** @type {string} */ (event), propertiesFromAttributes(element));
  } catch (error) {
    warn(`could not track the ${why} of`, element, error);
  }
}

/**
 * Tracks, once, a load event for every element inside `parent` with
 * `data-event-tracking-load="true"`, and adds one delegated click listener on `parent` for
 * elements with `data-event-tracking`. An element marked for load tracking is not tracked on
 * click unless it also has `data-event-tracking-click="true"`. Binding the same parent again
 * returns the same dispose function and tracks nothing more.
 *
 * @param {Document | Element} [parent]
 * @returns {() => void} removes the listener (calling it twice is harmless)
 */
export function bindInternalEventDocument(parent = getDocument()) {
  if (!parent || typeof parent.addEventListener !== 'function') return () => {};
  const existing = state.bound.get(parent);
  if (existing) return existing;

  /** @param {Event} domEvent */
  const onClick = (domEvent) => {
    let target = /** @type {any} */ (domEvent.target);
    if (target && typeof target.closest !== 'function') target = target.parentElement;
    if (!target || typeof target.closest !== 'function') return;
    const element = target.closest(TRACKING_SELECTOR);
    if (!element || !parent.contains(element)) return;
    if (element.getAttribute('data-event-tracking-load') === 'true' && element.getAttribute('data-event-tracking-click') !== 'true') {
      return;
    }
    trackElement(element, 'click');
  };

  parent.addEventListener('click', onClick);
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    parent.removeEventListener('click', onClick);
    if (state.bound.get(parent) === dispose) state.bound.delete(parent);
    state.disposers.delete(dispose);
  };
  state.bound.set(parent, dispose);
  state.disposers.add(dispose);

  if (typeof parent.querySelectorAll === 'function') {
    for (const element of Array.from(parent.querySelectorAll(LOAD_SELECTOR))) {
      if (element.hasAttribute('data-event-tracking')) trackElement(element, 'load');
    }
  }
  return dispose;
}

/**
 * The browser client. Methods are looked up on this object at call time (by the mixin and the
 * data-attribute handlers), so a test can replace `InternalEvents.trackEvent` with a spy.
 */
export const InternalEvents = {
  trackEvent,
  mixin,
  bindInternalEventDocument,
  configure,
  flush,
  reset,
};

export default InternalEvents;
