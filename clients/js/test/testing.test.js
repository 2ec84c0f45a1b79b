import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { InternalEvents, configure, flush } from '../internal_events.js';
import { loadDefinitions, useMockInternalEventsTracking } from '../testing.js';
import { contextScript, fakeFetch, installDom, uninstallDom } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/definitions', import.meta.url));
/** The project's own definitions, shared with the server. */
const PROJECT_DEFINITIONS = fileURLToPath(new URL('../../../definitions', import.meta.url));
const realTrackEvent = InternalEvents.trackEvent;

let tracking;

beforeEach(() => {
  InternalEvents.reset();
  installDom({ head: contextScript({ user_id: 1, token: 't' }) });
});

afterEach(() => {
  if (tracking) tracking.restore();
  tracking = undefined;
  InternalEvents.reset();
  uninstallDom();
});

describe('loadDefinitions', () => {
  test('reads events/*.yml keyed by event name', () => {
    const definitions = loadDefinitions(FIXTURES);
    assert.deepEqual(Object.keys(definitions).sort(), ['click_review_button', 'legacy_snowplow_click']);
    assert.equal(definitions.click_review_button.internal_events, true);
    assert.deepEqual(Object.keys(definitions.click_review_button.additional_properties), ['label', 'value', 'review_mode']);
    assert.equal(definitions.legacy_snowplow_click.internal_events, undefined);
  });

  test('a missing folder is an error', () => {
    assert.throws(() => loadDefinitions(`${FIXTURES}/nope`), /is not a folder/);
  });

  test("reads the project's shared definitions", () => {
    const definitions = loadDefinitions(PROJECT_DEFINITIONS);
    assert.equal(definitions.create_merge_request.action, 'create_merge_request');
  });
});

describe('useMockInternalEventsTracking', () => {
  test('a known event with declared properties is recorded and nothing is sent', async () => {
    const fetch = fakeFetch();
    configure({ fetch });
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.notEqual(InternalEvents.trackEvent, realTrackEvent);
    InternalEvents.trackEvent('click_review_button', { label: 'header', value: 0, review_mode: 'inline' });
    InternalEvents.mixin().methods.trackEvent('click_review_button', {});
    assert.deepEqual(tracking.calls, [
      ['click_review_button', { label: 'header', value: 0, review_mode: 'inline' }],
      ['click_review_button', {}, undefined],
    ]);
    assert.equal(tracking.trackEventSpy.calls, tracking.calls);
    await flush();
    assert.equal(fetch.calls.length, 0);
  });

  test('an unknown event throws, naming the event', () => {
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.throws(
      () => InternalEvents.trackEvent('no_such_event', {}),
      (error) => /Unknown internal event "no_such_event"/.test(error.message) && error.message.includes('action: no_such_event'),
    );
    assert.deepEqual(tracking.calls, []);
    assert.equal(tracking.trackEventSpy.errors.length, 1);
  });

  test('an event whose file is not an internal event throws, naming the file', () => {
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.throws(
      () => InternalEvents.trackEvent('legacy_snowplow_click'),
      (error) =>
        error.message.includes('"legacy_snowplow_click" is not an internal event') &&
        error.message.includes('legacy_snowplow_click.yml') &&
        error.message.includes('internal_events: true'),
    );
  });

  test('an undeclared property throws, naming the event, the property and the file', () => {
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.throws(
      () => InternalEvents.trackEvent('click_review_button', { label: 'header', property: 'draft' }),
      (error) =>
        error.message.includes('Event "click_review_button" does not declare the additional property "property"') &&
        error.message.includes('click_review_button.yml') &&
        error.message.includes('label, value, review_mode'),
    );
    assert.throws(() => InternalEvents.trackEvent('click_review_button', { colour: 'red' }), /"colour"/);
  });

  test('a declared property of the wrong type throws; bad input throws as in the real client', () => {
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.throws(
      () => InternalEvents.trackEvent('click_review_button', { review_mode: 2 }),
      /"review_mode" should be a string, got number/,
    );
    assert.throws(() => InternalEvents.trackEvent('click_review_button', { value: '3' }), /value should be a finite number/);
    assert.throws(() => InternalEvents.trackEvent(''), /non-empty string/);
  });

  test('triggerEvent on a data-event-tracking button records the call', () => {
    document.body.innerHTML =
      '<div id="root"><button class="review" data-event-tracking="click_review_button" data-event-label="sidebar" data-event-value="3">Review</button></div>';
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    const { trackEventSpy, triggerEvent } = tracking.bindInternalEventDocument(document.getElementById('root'));
    triggerEvent('.review');
    assert.deepEqual(trackEventSpy.calls, [['click_review_button', { label: 'sidebar', value: 3 }]]);
    tracking.triggerEvent(document.querySelector('.review'));
    assert.equal(trackEventSpy.calls.length, 2);
  });

  test('triggerEvent throws what the check threw, though the click handler swallows errors', (t) => {
    t.mock.method(console, 'warn', () => {});
    document.body.innerHTML = `<button id="b" data-event-tracking="click_review_button" data-event-additional='{"colour":"red"}'></button>`;
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    tracking.bindInternalEventDocument();
    assert.throws(() => tracking.triggerEvent('#b'), /does not declare the additional property "colour"/);
    assert.throws(() => tracking.triggerEvent('#missing'), /nothing matches #missing/);
  });

  test('load events are checked and recorded when binding', (t) => {
    t.mock.method(console, 'warn', () => {});
    document.body.innerHTML = '<div data-event-tracking="click_review_button" data-event-tracking-load="true" data-event-label="page"></div>';
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    tracking.bindInternalEventDocument();
    assert.deepEqual(tracking.calls, [['click_review_button', { label: 'page' }]]);
    tracking.restore();
    document.body.innerHTML = '<div data-event-tracking="legacy_snowplow_click" data-event-tracking-load="true"></div>';
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    assert.throws(() => tracking.bindInternalEventDocument(), /not an internal event/);
  });

  test('restore puts back the real trackEvent and removes the bindings', () => {
    document.body.innerHTML = '<button id="b" data-event-tracking="click_review_button"></button>';
    tracking = useMockInternalEventsTracking({ definitions: FIXTURES });
    const { trackEventSpy } = tracking.bindInternalEventDocument();
    tracking.restore();
    assert.equal(InternalEvents.trackEvent, realTrackEvent);
    document.getElementById('b').dispatchEvent(new window.MouseEvent('click', { bubbles: true }));
    assert.equal(trackEventSpy.calls.length, 0);
  });

  test('accepts definitions already loaded, and a list of folders (the first wins)', () => {
    tracking = useMockInternalEventsTracking({
      definitions: { inline_event: { internal_events: true, additional_properties: { label: { description: 'l' } } } },
    });
    InternalEvents.trackEvent('inline_event', { label: 'x' });
    assert.throws(() => InternalEvents.trackEvent('inline_event', { property: 'p' }), /the definition of "inline_event"/);
    tracking.restore();

    tracking = useMockInternalEventsTracking({ definitions: [FIXTURES, PROJECT_DEFINITIONS] });
    InternalEvents.trackEvent('click_review_button', { review_mode: 'parallel' });
    InternalEvents.trackEvent('create_merge_request', { label: 'web', property: 'draft' });
    assert.equal(tracking.calls.length, 2);
  });

  test('requires definitions', () => {
    assert.throws(() => useMockInternalEventsTracking({}), /pass \{ definitions/);
  });
});
