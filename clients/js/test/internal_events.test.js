import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { InternalEvents, bindInternalEventDocument, configure, flush } from '../internal_events.js';
import { contextScript, fakeBeacon, fakeFetch, installDom, settle, uninstallDom } from './helpers.js';

const USER = { endpoint: '/api/v4/usage_data/track_events', token: 'tok-1', user_id: 5, namespace_id: 7, project_id: 9 };

/** A page signed in as USER, with a fake fetch and beacon configured. */
function signedInPage({ body = '', context = USER, options = {} } = {}) {
  installDom({ head: contextScript(context), body });
  const fetch = fakeFetch(options.script || []);
  const sendBeacon = options.sendBeacon || fakeBeacon(true);
  configure({ fetch, sendBeacon, ...(options.configure || {}) });
  return { fetch, sendBeacon };
}

/** Every event sent so far, in order. */
function sentEvents(fetch) {
  return fetch.calls.flatMap((call) => call.body.events);
}

beforeEach(() => InternalEvents.reset());
afterEach(() => {
  InternalEvents.reset();
  uninstallDom();
});

describe('validation', () => {
  test('the event name must be a non-empty string', () => {
    signedInPage();
    for (const bad of ['', '   ', undefined, null, 42, {}]) {
      assert.throws(() => InternalEvents.trackEvent(bad), /event name must be a non-empty string/);
    }
  });

  test('label and property must be strings, value a finite number; nothing is queued', async () => {
    const { fetch } = signedInPage();
    assert.throws(() => InternalEvents.trackEvent('evt', { label: 3 }), /label should be a string, got 3/);
    assert.throws(() => InternalEvents.trackEvent('evt', { property: {} }), /property should be a string/);
    assert.throws(() => InternalEvents.trackEvent('evt', { value: '12' }), /value should be a finite number, got "12"/);
    assert.throws(() => InternalEvents.trackEvent('evt', { value: NaN }), /value should be a finite number/);
    assert.throws(() => InternalEvents.trackEvent('evt', { value: Infinity }), /value should be a finite number/);
    assert.throws(() => InternalEvents.trackEvent('evt', 'label'), /additionalProperties must be an object/);
    assert.throws(() => InternalEvents.trackEvent('evt', {}, 12), /category must be a string/);
    assert.throws(() => InternalEvents.trackEvent('evt', { n: 10n }), /JSON-serialisable/);
    assert.equal(await flush(), true);
    assert.equal(fetch.calls.length, 0);
  });

  test('value 0 and decimals are kept, custom keys pass, absent built-ins are removed', async () => {
    const { fetch } = signedInPage();
    assert.equal(InternalEvents.trackEvent('evt', { value: 0 }), true);
    InternalEvents.trackEvent('evt', { value: 2.75, label: 'web', property: 'draft', merge_strategy: 'squash' });
    InternalEvents.trackEvent('evt', { label: null, property: undefined, value: null, flag: false });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.deepEqual(
      sentEvents(fetch).map((e) => e.additional_properties),
      [{ value: 0 }, { value: 2.75, label: 'web', property: 'draft', merge_strategy: 'squash' }, { flag: false }, {}],
    );
  });

  test('the properties are copied when tracked', async () => {
    const { fetch } = signedInPage();
    const properties = { label: 'before' };
    InternalEvents.trackEvent('evt', properties);
    properties.label = 'after';
    await flush();
    assert.equal(sentEvents(fetch)[0].additional_properties.label, 'before');
  });

  test('the category is sent when given and omitted otherwise', async () => {
    const { fetch } = signedInPage();
    InternalEvents.trackEvent('evt', {}, 'projects:merge_requests:show');
    InternalEvents.trackEvent('evt');
    await flush();
    const [first, second] = sentEvents(fetch);
    assert.equal(first.category, 'projects:merge_requests:show');
    assert.equal('category' in second, false);
  });
});

describe('page context', () => {
  test('is read from the JSON script tag', async () => {
    const { fetch } = signedInPage({ context: { ...USER, endpoint: '/custom/track_events', token: 'from-script' } });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal(fetch.calls[0].url, '/custom/track_events');
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer from-script');
    assert.equal(fetch.calls[0].body.events[0].namespace_id, 7);
    assert.equal(fetch.calls[0].body.events[0].project_id, 9);
  });

  test('is read from the meta tag when there is no script tag', async () => {
    const content = JSON.stringify({ token: 'from-meta', user_id: 1, project_id: 33 }).replace(/"/g, '&quot;');
    installDom({ head: `<meta name="otel-internal-events" content="${content}">` });
    const fetch = fakeFetch();
    configure({ fetch });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal(fetch.calls[0].url, '/api/v4/usage_data/track_events');
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer from-meta');
    assert.deepEqual(
      { namespace_id: fetch.calls[0].body.events[0].namespace_id, project_id: fetch.calls[0].body.events[0].project_id },
      { namespace_id: null, project_id: 33 },
    );
  });

  test('invalid JSON in the script tag falls back to the meta tag, with a warning', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const content = JSON.stringify({ token: 'meta-token', user_id: 2 }).replace(/"/g, '&quot;');
    installDom({
      head:
        '<script type="application/json" id="otel-internal-events-context">{not json</script>' +
        `<meta name="otel-internal-events" content="${content}">`,
    });
    const fetch = fakeFetch();
    configure({ fetch });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer meta-token');
    assert.equal(warn.mock.callCount(), 1);
  });

  test('is read lazily, on first use, and configure() overrides it', async () => {
    installDom();
    const fetch = fakeFetch();
    configure({ fetch, token: 'from-code' });
    // The tag appears after import and after configure(): it is still read, on first use.
    document.head.insertAdjacentHTML('beforeend', contextScript({ ...USER, token: 'from-page' }));
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer from-code');
    assert.equal(fetch.calls[0].body.events[0].project_id, 9);
  });

  test('configure() refuses unknown options', () => {
    assert.throws(() => configure({ flushInterval: 10 }), /unknown option "flushInterval"/);
  });

  test('a token function is called at send time', async () => {
    let token = 'first';
    const { fetch } = signedInPage({ options: { configure: { token: () => token } } });
    InternalEvents.trackEvent('evt');
    token = 'refreshed';
    await flush();
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer refreshed');
  });
});

describe('anonymous users and Do Not Track', () => {
  test('events of anonymous users are not sent', async () => {
    const { fetch } = signedInPage({ context: { token: 't' } });
    assert.equal(InternalEvents.trackEvent('evt', { label: 'x' }), false);
    assert.equal(await flush(), true);
    assert.equal(fetch.calls.length, 0);
  });

  test('...unless send_anonymous is set', async () => {
    const { fetch } = signedInPage({ context: { token: 't', send_anonymous: true } });
    assert.equal(InternalEvents.trackEvent('evt', { label: 'x' }), true);
    await flush();
    assert.deepEqual(sentEvents(fetch), [
      { event: 'evt', namespace_id: null, project_id: null, additional_properties: { label: 'x' }, send_to_snowplow: true },
    ]);
  });

  test('bad input still throws for anonymous users', () => {
    signedInPage({ context: {} });
    assert.throws(() => InternalEvents.trackEvent('evt', { value: 'x' }), /finite number/);
  });

  test('with respect_dnt, navigator.doNotTrack "1" sends nothing', async () => {
    const { fetch } = signedInPage({ context: { ...USER, respect_dnt: true } });
    Object.defineProperty(navigator, 'doNotTrack', { value: '1', configurable: true });
    assert.equal(InternalEvents.trackEvent('evt'), false);
    await flush();
    assert.equal(fetch.calls.length, 0);
  });

  test('with respect_dnt, window.doNotTrack "1" sends nothing', async () => {
    const { fetch } = signedInPage({ options: { configure: { respect_dnt: true } } });
    window.doNotTrack = '1';
    assert.equal(InternalEvents.trackEvent('evt'), false);
    await flush();
    assert.equal(fetch.calls.length, 0);
  });

  test('without respect_dnt, Do Not Track does not stop events; with it off, events go', async () => {
    const { fetch } = signedInPage();
    Object.defineProperty(navigator, 'doNotTrack', { value: '1', configurable: true });
    assert.equal(InternalEvents.trackEvent('evt'), true);
    configure({ respect_dnt: true });
    Object.defineProperty(navigator, 'doNotTrack', { value: '0', configurable: true });
    assert.equal(InternalEvents.trackEvent('evt2'), true);
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => e.event), ['evt', 'evt2']);
  });
});

describe('wire format and batching', () => {
  test('one request: method, headers and body; no keepalive while the page is shown', async () => {
    const { fetch } = signedInPage();
    InternalEvents.trackEvent('create_merge_request', { label: 'web', property: 'draft' }, 'page');
    assert.equal(await flush(), true);
    assert.equal(fetch.calls.length, 1);
    const [{ url, init, headers, body }] = fetch.calls;
    assert.equal(url, '/api/v4/usage_data/track_events');
    assert.equal(init.method, 'POST');
    assert.equal(init.keepalive, false);
    assert.equal(init.credentials, 'omit');
    assert.deepEqual(Object.keys(headers).sort(), ['Authorization', 'Content-Type', 'Idempotency-Key']);
    assert.equal(headers['Content-Type'], 'application/json');
    assert.equal(headers.Authorization, 'Bearer tok-1');
    assert.match(headers['Idempotency-Key'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(body, {
      events: [
        {
          event: 'create_merge_request',
          namespace_id: 7,
          project_id: 9,
          additional_properties: { label: 'web', property: 'draft' },
          send_to_snowplow: true,
          category: 'page',
        },
      ],
    });
  });

  test('without a token there is no Authorization header', async () => {
    const { fetch } = signedInPage({ context: { user_id: 3 } });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal('Authorization' in fetch.calls[0].headers, false);
    assert.ok(fetch.calls[0].headers['Idempotency-Key']);
  });

  test('queued events are sent together when the flush timer fires', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage();
    InternalEvents.trackEvent('a');
    InternalEvents.trackEvent('b');
    t.mock.timers.tick(300);
    InternalEvents.trackEvent('c');
    await settle();
    assert.equal(fetch.calls.length, 0);
    t.mock.timers.tick(199);
    await settle();
    assert.equal(fetch.calls.length, 0);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(fetch.calls.length, 1);
    assert.deepEqual(fetch.calls[0].body.events.map((e) => e.event), ['a', 'b', 'c']);
  });

  test('flushIntervalMs is configurable', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage({ options: { configure: { flushIntervalMs: 50 } } });
    InternalEvents.trackEvent('a');
    t.mock.timers.tick(49);
    await settle();
    assert.equal(fetch.calls.length, 0);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(fetch.calls.length, 1);
  });

  test('120 events become requests of 50, 50 and 20', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage();
    for (let i = 0; i < 120; i += 1) InternalEvents.trackEvent('evt', { value: i });
    await settle();
    // Full batches go at once, the rest on the timer.
    assert.deepEqual(fetch.calls.map((c) => c.body.events.length), [50, 50]);
    t.mock.timers.tick(500);
    await settle();
    assert.deepEqual(fetch.calls.map((c) => c.body.events.length), [50, 50, 20]);
    assert.deepEqual(sentEvents(fetch).map((e) => e.additional_properties.value), Array.from({ length: 120 }, (_, i) => i));
    const keys = new Set(fetch.calls.map((c) => c.headers['Idempotency-Key']));
    assert.equal(keys.size, 3);
  });

  test('maxBatch is configurable but never above the API limit of 50', async () => {
    const { fetch } = signedInPage({ options: { configure: { maxBatch: 2 } } });
    for (let i = 0; i < 5; i += 1) InternalEvents.trackEvent('evt');
    await flush();
    assert.deepEqual(fetch.calls.map((c) => c.body.events.length), [2, 2, 1]);
    configure({ maxBatch: 500 });
    for (let i = 0; i < 60; i += 1) InternalEvents.trackEvent('evt');
    await flush();
    assert.deepEqual(fetch.calls.slice(3).map((c) => c.body.events.length), [50, 10]);
  });
});

describe('retries', () => {
  test('a 5xx is retried after retryBaseMs with the same Idempotency-Key', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage({ options: { script: [503, 200] } });
    InternalEvents.trackEvent('evt', { label: 'x' });
    const done = flush();
    await settle();
    assert.equal(fetch.calls.length, 1);
    t.mock.timers.tick(499);
    await settle();
    assert.equal(fetch.calls.length, 1);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(fetch.calls.length, 2);
    assert.equal(fetch.calls[1].headers['Idempotency-Key'], fetch.calls[0].headers['Idempotency-Key']);
    assert.deepEqual(fetch.calls[1].body, fetch.calls[0].body);
    assert.equal(await done, true);
    t.mock.timers.tick(60_000);
    await settle();
    assert.equal(fetch.calls.length, 2);
  });

  test('a network error is retried', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage({ options: { script: [new TypeError('Failed to fetch'), 200] } });
    InternalEvents.trackEvent('evt');
    const done = flush();
    await settle();
    t.mock.timers.tick(500);
    await settle();
    assert.equal(fetch.calls.length, 2);
    assert.equal(fetch.calls[1].headers['Idempotency-Key'], fetch.calls[0].headers['Idempotency-Key']);
    assert.equal(await done, true);
  });

  test('a 400 drops the batch with one warning and no retry', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const warn = t.mock.method(console, 'warn', () => {});
    const { fetch } = signedInPage({ options: { script: [400] } });
    InternalEvents.trackEvent('evt');
    const done = flush();
    await settle();
    assert.equal(await done, false);
    t.mock.timers.tick(60_000);
    await settle();
    assert.equal(fetch.calls.length, 1);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(warn.mock.calls[0].arguments.join(' '), /HTTP 400/);
  });

  test('a 429 waits for Retry-After seconds', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { fetch } = signedInPage({ options: { script: [{ status: 429, headers: { 'Retry-After': '3' } }, 200] } });
    InternalEvents.trackEvent('evt');
    const done = flush();
    await settle();
    t.mock.timers.tick(2999);
    await settle();
    assert.equal(fetch.calls.length, 1);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(fetch.calls.length, 2);
    assert.equal(await done, true);
  });

  test('backoff doubles and the batch is given up after maxRetries retries', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const warn = t.mock.method(console, 'warn', () => {});
    const { fetch } = signedInPage({ options: { script: [500, 502, 503, 504], configure: { maxRetries: 2, retryBaseMs: 100 } } });
    InternalEvents.trackEvent('evt');
    const done = flush();
    const counts = [];
    for (const step of [0, 99, 1, 199, 1, 10_000]) {
      t.mock.timers.tick(step);
      await settle();
      counts.push(fetch.calls.length);
    }
    // first attempt at 0, retry 1 after 100 ms, retry 2 after 200 ms more, then given up
    assert.deepEqual(counts, [1, 1, 2, 2, 3, 3]);
    assert.equal(await done, false);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(warn.mock.calls[0].arguments.join(' '), /giving up on 1 event\(s\) after 3 attempts/);
  });
});

describe('page hide', () => {
  test('pagehide sends the queue with sendBeacon; the body carries the token and idempotency key', async () => {
    const sendBeacon = fakeBeacon(true);
    const { fetch } = signedInPage({ options: { sendBeacon } });
    InternalEvents.trackEvent('evt', { label: 'x' });
    InternalEvents.trackEvent('evt2', { value: 0 });
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(sendBeacon.calls.length, 1);
    const [{ url, data }] = sendBeacon.calls;
    assert.equal(url, '/api/v4/usage_data/track_events');
    assert.ok(data instanceof Blob);
    assert.equal(data.type, 'application/json');
    const body = JSON.parse(await data.text());
    assert.deepEqual(Object.keys(body), ['events', 'token', 'idempotency_key']);
    assert.equal(body.token, 'tok-1');
    assert.match(body.idempotency_key, /^[0-9a-f-]{36}$/);
    assert.deepEqual(body.events.map((e) => [e.event, e.additional_properties]), [['evt', { label: 'x' }], ['evt2', { value: 0 }]]);
    // Nothing is left for the timer.
    assert.equal(await flush(), true);
    await settle();
    assert.equal(fetch.calls.length, 0);
  });

  test('visibilitychange to hidden sends too; to visible does not', () => {
    const sendBeacon = fakeBeacon(true);
    signedInPage({ options: { sendBeacon } });
    let visibility = 'visible';
    Object.defineProperty(document, 'visibilityState', { get: () => visibility, configurable: true });
    InternalEvents.trackEvent('evt');
    document.dispatchEvent(new window.Event('visibilitychange'));
    assert.equal(sendBeacon.calls.length, 0);
    visibility = 'hidden';
    document.dispatchEvent(new window.Event('visibilitychange'));
    assert.equal(sendBeacon.calls.length, 1);
  });

  test('more than maxBatch queued: one beacon per batch', async () => {
    const sendBeacon = fakeBeacon(true);
    signedInPage({ options: { sendBeacon, configure: { maxBatch: 3 } } });
    for (let i = 0; i < 2; i += 1) InternalEvents.trackEvent('evt');
    configure({ maxBatch: 1 });
    window.dispatchEvent(new window.Event('pagehide'));
    const sizes = await Promise.all(sendBeacon.calls.map(async (c) => JSON.parse(await c.data.text()).events.length));
    assert.deepEqual(sizes, [1, 1]);
  });

  test('a beacon that returns false falls back to fetch with keepalive and the same key', async () => {
    const sendBeacon = fakeBeacon(false);
    const { fetch } = signedInPage({ options: { sendBeacon } });
    InternalEvents.trackEvent('evt', { label: 'x' });
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(sendBeacon.calls.length, 1);
    assert.equal(fetch.calls.length, 1);
    const beaconBody = JSON.parse(await sendBeacon.calls[0].data.text());
    assert.equal(fetch.calls[0].init.keepalive, true);
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer tok-1');
    assert.equal(fetch.calls[0].headers['Idempotency-Key'], beaconBody.idempotency_key);
    assert.deepEqual(fetch.calls[0].body.events, beaconBody.events);
  });

  test('batches are cut to fit a beacon: at most 60,000 bytes of JSON each', async () => {
    const sendBeacon = fakeBeacon(true);
    const { fetch } = signedInPage({ options: { sendBeacon } });
    const label = 'é'.repeat(1000); // 2,000 bytes in UTF-8
    for (let i = 0; i < 45; i += 1) InternalEvents.trackEvent('evt', { label });
    assert.equal(await flush(), true);
    const sizes = fetch.calls.map((call) => new TextEncoder().encode(call.init.body).length);
    assert.ok(fetch.calls.length >= 2, `one request of ${sizes[0]} bytes`);
    assert.ok(sizes.every((size) => size <= 60000), `sizes ${sizes}`);
    assert.equal(sentEvents(fetch).length, 45);
  });

  test('to another origin, the page hide sends with a keepalive fetch and its headers, not a beacon', () => {
    const sendBeacon = fakeBeacon(true);
    const { fetch } = signedInPage({
      options: { sendBeacon, configure: { endpoint: 'https://gateway.example.org/api/v4/usage_data/track_events' } },
    });
    InternalEvents.trackEvent('evt');
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(sendBeacon.calls.length, 0);
    assert.equal(fetch.calls.length, 1);
    assert.equal(fetch.calls[0].init.keepalive, true);
    assert.equal(fetch.calls[0].headers.Authorization, 'Bearer tok-1');
  });

  test('a batch still unanswered when the page hides goes again by beacon, under its own key', async () => {
    const sendBeacon = fakeBeacon(true);
    installDom({ head: contextScript(USER) });
    const calls = [];
    const fetch = (url, init) => {
      calls.push(JSON.parse(init.body));
      return new Promise(() => {}); // never answered: the navigation cancels it
    };
    configure({ fetch, sendBeacon });
    InternalEvents.trackEvent('evt', { label: 'in flight' });
    const delivered = flush();
    await settle();
    assert.equal(calls.length, 1);
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(sendBeacon.calls.length, 1);
    const beaconBody = JSON.parse(await sendBeacon.calls[0].data.text());
    assert.deepEqual(beaconBody.events, calls[0].events);
    assert.match(beaconBody.idempotency_key, /^[0-9a-f-]{36}$/);
    assert.equal(await delivered, true);
  });

  test('without sendBeacon, fetch with keepalive is used', () => {
    installDom({ head: contextScript(USER) });
    const fetch = fakeFetch();
    configure({ fetch });
    assert.equal(typeof navigator.sendBeacon, 'undefined');
    InternalEvents.trackEvent('evt');
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(fetch.calls.length, 1);
    assert.equal(fetch.calls[0].init.keepalive, true);
  });

  test('a batch waiting for a retry is sent on page hide with its own key, and not retried again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sendBeacon = fakeBeacon(true);
    const { fetch } = signedInPage({ options: { sendBeacon, script: [503] } });
    InternalEvents.trackEvent('first');
    flush();
    await settle();
    assert.equal(fetch.calls.length, 1);
    InternalEvents.trackEvent('second');
    window.dispatchEvent(new window.Event('pagehide'));
    assert.equal(sendBeacon.calls.length, 2);
    const bodies = await Promise.all(sendBeacon.calls.map(async (c) => JSON.parse(await c.data.text())));
    assert.deepEqual(bodies.map((b) => b.events.map((e) => e.event)), [['first'], ['second']]);
    assert.equal(bodies[0].idempotency_key, fetch.calls[0].headers['Idempotency-Key']);
    assert.notEqual(bodies[1].idempotency_key, bodies[0].idempotency_key);
    t.mock.timers.tick(60_000);
    await settle();
    assert.equal(fetch.calls.length, 1);
  });
});

describe('mixin', () => {
  test('is a plain object whose trackEvent forwards all three arguments', (t) => {
    const mixin = InternalEvents.mixin();
    assert.deepEqual(Object.keys(mixin), ['methods']);
    assert.deepEqual(Object.keys(mixin.methods), ['trackEvent']);
    const spy = t.mock.method(InternalEvents, 'trackEvent', () => true);
    const component = { ...mixin.methods };
    component.trackEvent('evt', { label: 'x' });
    component.trackEvent('evt2', { value: 1 }, 'cat');
    assert.deepEqual(
      spy.mock.calls.map((c) => c.arguments),
      [['evt', { label: 'x' }, undefined], ['evt2', { value: 1 }, 'cat']],
    );
  });

  test('sends like trackEvent and throws like it', async () => {
    const { fetch } = signedInPage();
    const { trackEvent } = InternalEvents.mixin().methods;
    assert.throws(() => trackEvent('evt', { label: 1 }), /label should be a string/);
    trackEvent('evt', { property: 'p' }, 'cat');
    await flush();
    assert.deepEqual(sentEvents(fetch)[0].additional_properties, { property: 'p' });
    assert.equal(sentEvents(fetch)[0].category, 'cat');
  });
});

describe('data attributes', () => {
  function click(element) {
    element.dispatchEvent(new window.MouseEvent('click', { bubbles: true }));
  }

  test('label, property, value and additional properties are read; a click on a child counts', async () => {
    const { fetch } = signedInPage({
      body: `<button id="b" data-event-tracking="click_button" data-event-label="header" data-event-property="draft"
               data-event-value="2.5" data-event-additional='{"review_mode":"inline","count":3}'><span id="inner">Go</span></button>`,
    });
    bindInternalEventDocument();
    click(document.getElementById('inner'));
    await flush();
    assert.deepEqual(sentEvents(fetch), [
      {
        event: 'click_button',
        namespace_id: 7,
        project_id: 9,
        additional_properties: { label: 'header', property: 'draft', value: 2.5, review_mode: 'inline', count: 3 },
        send_to_snowplow: true,
      },
    ]);
  });

  test('data-event-value "0" is kept; a non-number is ignored with a warning; empty is absent', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const { fetch } = signedInPage({
      body:
        '<button id="zero" data-event-tracking="e" data-event-value="0"></button>' +
        '<button id="nan" data-event-tracking="e" data-event-value="12px" data-event-label="l"></button>' +
        '<button id="empty" data-event-tracking="e" data-event-value=""></button>',
    });
    bindInternalEventDocument();
    for (const id of ['zero', 'nan', 'empty']) click(document.getElementById(id));
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => e.additional_properties), [{ value: 0 }, { label: 'l' }, {}]);
    assert.equal(warn.mock.callCount(), 1);
    assert.match(warn.mock.calls[0].arguments.join(' '), /data-event-value="12px" is not a number/);
  });

  test('invalid data-event-additional JSON is warned about and the event is still tracked', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const { fetch } = signedInPage({
      body:
        `<button id="bad" data-event-tracking="e" data-event-label="l" data-event-additional="{oops"></button>` +
        `<button id="array" data-event-tracking="e" data-event-additional="[1]"></button>` +
        `<button id="override" data-event-tracking="e" data-event-label="l" data-event-additional='{"label":"from-json"}'></button>`,
    });
    bindInternalEventDocument();
    for (const id of ['bad', 'array', 'override']) click(document.getElementById(id));
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => e.additional_properties), [{ label: 'l' }, {}, { label: 'from-json' }]);
    assert.equal(warn.mock.callCount(), 2);
    assert.match(warn.mock.calls[0].arguments.join(' '), /not valid JSON/);
    assert.match(warn.mock.calls[1].arguments.join(' '), /not a JSON object/);
  });

  test('a click handler never throws: bad additional properties are warned about', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const { fetch } = signedInPage({ body: `<button id="b" data-event-tracking="e" data-event-additional='{"value":"x"}'></button>` });
    bindInternalEventDocument();
    click(document.getElementById('b'));
    await flush();
    assert.equal(fetch.calls.length, 0);
    assert.equal(warn.mock.callCount(), 1);
  });

  test('load events are tracked once at bind time; load elements do not track clicks unless asked', async () => {
    const { fetch } = signedInPage({
      body:
        '<div id="shown" data-event-tracking="view_panel" data-event-tracking-load="true" data-event-label="sidebar"></div>' +
        '<div id="both" data-event-tracking="view_both" data-event-tracking-load="true" data-event-tracking-click="true" data-event-value="0"></div>' +
        '<div id="notload" data-event-tracking="click_only" data-event-tracking-load="false"></div>',
    });
    bindInternalEventDocument();
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => [e.event, e.additional_properties]), [
      ['view_panel', { label: 'sidebar' }],
      ['view_both', { value: 0 }],
    ]);
    for (const id of ['shown', 'both', 'notload']) click(document.getElementById(id));
    await flush();
    assert.deepEqual(sentEvents(fetch).slice(2).map((e) => e.event), ['view_both', 'click_only']);
  });

  test('only elements inside the bound parent are tracked', async () => {
    const { fetch } = signedInPage({
      body:
        '<section id="panel" data-event-tracking="panel_click"><button id="in" data-event-tracking="inside"></button><p id="text">t</p></section>' +
        '<button id="out" data-event-tracking="outside"></button>' +
        '<div id="load-out" data-event-tracking="load_outside" data-event-tracking-load="true"></div>',
    });
    const panel = document.getElementById('panel');
    bindInternalEventDocument(panel);
    click(document.getElementById('in'));
    click(document.getElementById('out'));
    click(document.getElementById('text'));
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => e.event), ['inside', 'panel_click']);
  });

  test('dispose stops tracking; disposing twice is harmless; binding twice does not double-track', async () => {
    const { fetch } = signedInPage({
      body: '<button id="b" data-event-tracking="e"></button><div data-event-tracking="loaded" data-event-tracking-load="true"></div>',
    });
    const dispose = bindInternalEventDocument(document);
    assert.equal(bindInternalEventDocument(document), dispose);
    click(document.getElementById('b'));
    await flush();
    assert.deepEqual(sentEvents(fetch).map((e) => e.event), ['loaded', 'e']);
    dispose();
    dispose();
    click(document.getElementById('b'));
    await flush();
    assert.equal(sentEvents(fetch).length, 2);
    // Binding again after dispose works (and tracks the load events of the new binding).
    const again = bindInternalEventDocument(document);
    assert.notEqual(again, dispose);
    click(document.getElementById('b'));
    await flush();
    assert.deepEqual(sentEvents(fetch).slice(2).map((e) => e.event), ['loaded', 'e']);
  });

  test('InternalEvents.bindInternalEventDocument is the same function', () => {
    assert.equal(InternalEvents.bindInternalEventDocument, bindInternalEventDocument);
  });
});

describe('without a DOM', () => {
  test('tracking works in Node with configure(); binding is a no-op', async () => {
    assert.equal(typeof document, 'undefined');
    const fetch = fakeFetch();
    configure({ fetch, user_id: 1, token: 't', endpoint: 'https://forge.example.com/api/v4/usage_data/track_events' });
    InternalEvents.trackEvent('evt', { value: 1.5 });
    await flush();
    assert.equal(fetch.calls[0].url, 'https://forge.example.com/api/v4/usage_data/track_events');
    assert.deepEqual(fetch.calls[0].body.events[0].additional_properties, { value: 1.5 });
    const dispose = bindInternalEventDocument();
    assert.equal(typeof dispose, 'function');
    dispose();
  });

  test('importing the module runs nothing and leaves nothing pending', () => {
    const moduleUrl = new URL('../internal_events.js', import.meta.url).href;
    const script = `import(${JSON.stringify(moduleUrl)}).then((m) => { console.log(Object.keys(m).sort().join(',')); });`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('.', import.meta.url)),
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'InternalEvents,bindInternalEventDocument,configure,default,flush,validateTrackEvent');
  });
});

describe('reset', () => {
  test('forgets queued events, configuration and the cached page context', async () => {
    const { fetch } = signedInPage();
    InternalEvents.trackEvent('evt');
    InternalEvents.reset();
    // the page context is read again after reset
    document.getElementById('otel-internal-events-context').textContent = JSON.stringify({ user_id: 8, project_id: 44 });
    assert.equal(await flush(), true);
    assert.equal(fetch.calls.length, 0);
    // the fetch configured before reset is forgotten too
    const second = fakeFetch();
    configure({ fetch: second });
    InternalEvents.trackEvent('evt');
    await flush();
    assert.equal(fetch.calls.length, 0);
    assert.equal(second.calls[0].body.events[0].project_id, 44);
  });
});
