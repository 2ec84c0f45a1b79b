// Test helper for code that tracks Internal Events from the browser.
//
//   const tracking = useMockInternalEventsTracking({ definitions: 'definitions' });
//   ... exercise the component ...
//   assert.deepEqual(tracking.calls, [['create_merge_request', { label: 'web' }]]);
//   tracking.restore();
//
// `InternalEvents.trackEvent` is replaced with a spy that sends nothing and checks every call
// against the event definitions (YAML, read with the optional `yaml` package).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

import { InternalEvents, validateTrackEvent } from './internal_events.js';

const require = createRequire(import.meta.url);

/** Where each loaded definition came from (definition object → file path). */
const sourceFiles = new WeakMap();

const BUILT_IN_TYPES = { label: 'string', property: 'string', value: 'number' };

function loadYaml() {
  try {
    return require('yaml');
  } catch (error) {
    throw new Error('otel-internal-events/testing needs the "yaml" package to read definition files: npm install --save-dev yaml');
  }
}

function yamlFiles(folder) {
  const files = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads event definitions: every `events/**\/*.yml` of each definitions folder (a folder that
 * has no `events/` subfolder is read as the events folder itself). Returns an object keyed by
 * event name (the file's `action`, else its name without `.yml`) whose values are the parsed YAML. When several
 * folders define the same event, the first folder wins.
 *
 * @param {string | string[]} folders
 * @returns {Record<string, Record<string, any>>}
 */
export function loadDefinitions(folders) {
  const list = Array.isArray(folders) ? folders : [folders];
  if (list.length === 0) throw new Error('loadDefinitions: no definitions folder given');
  const YAML = loadYaml();
  /** @type {Record<string, Record<string, any>>} */
  const definitions = {};
  for (const folder of list) {
    const root = resolve(String(folder));
    if (!isDirectory(root)) throw new Error(`loadDefinitions: ${root} is not a folder`);
    const eventsFolder = isDirectory(join(root, 'events')) ? join(root, 'events') : root;
    for (const file of yamlFiles(eventsFolder)) {
      let parsed;
      try {
        parsed = YAML.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new Error(`loadDefinitions: ${file} is not valid YAML: ${error.message}`);
      }
      const definition = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
      // An event is named by its action (GitLab's legacy files are named <time>_<category>_<action>).
      const name = typeof definition.action === 'string' ? definition.action : basename(file).replace(/\.ya?ml$/, '');
      if (Object.prototype.hasOwnProperty.call(definitions, name)) continue;
      sourceFiles.set(definition, file);
      definitions[name] = definition;
    }
  }
  return definitions;
}

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Checks one trackEvent call against the definitions; throws an Error naming the event, the
 * property and the file.
 */
function checkCall(definitions, sources, event, additionalProperties, category) {
  validateTrackEvent(event, additionalProperties, category);
  const definition = Object.prototype.hasOwnProperty.call(definitions, event) ? definitions[event] : undefined;
  if (!definition) {
    throw new Error(`Unknown internal event "${event}": no definition file has action: ${event} (looked in ${sources})`);
  }
  const file = sourceFiles.get(definition) || `the definition of "${event}"`;
  if (definition.internal_events !== true) {
    throw new Error(
      `"${event}" is not an internal event: ${file} does not set "internal_events: true" (it only describes a Snowplow event)`,
    );
  }
  if (definition.action !== undefined && definition.action !== event) {
    throw new Error(`${file} defines the action "${definition.action}", not "${event}"`);
  }
  const declared = definition.additional_properties && typeof definition.additional_properties === 'object' ? definition.additional_properties : {};
  for (const [key, value] of Object.entries(additionalProperties || {})) {
    if (value === undefined || (value === null && key in BUILT_IN_TYPES)) continue;
    if (!Object.prototype.hasOwnProperty.call(declared, key)) {
      const names = Object.keys(declared);
      throw new Error(
        `Event "${event}" does not declare the additional property "${key}" ` +
          `(${file}, additional_properties: ${names.length ? names.join(', ') : 'none'})`,
      );
    }
    const spec = declared[key] || {};
    const type = BUILT_IN_TYPES[key] || (spec.type === 'string' || spec.type === 'number' ? spec.type : undefined);
    if (type && typeOf(value) !== type) {
      throw new Error(`Event "${event}": the additional property "${key}" should be a ${type}, got ${typeOf(value)} (${file})`);
    }
  }
}

function defaultDocument() {
  return typeof document === 'undefined' ? undefined : document;
}

/**
 * @typedef {Object} TrackEventSpy
 * @property {unknown[][]} calls The arguments of each call that passed the checks, as passed.
 * @property {Error[]} errors The errors thrown by calls that failed the checks.
 * @property {() => void} clear Forgets the calls and errors recorded so far.
 */

/**
 * Replaces `InternalEvents.trackEvent` with a spy that records calls, sends nothing, and throws
 * when a call does not match the definitions: an unknown event, a file without
 * `internal_events: true`, a property the event does not declare, or one of the wrong type.
 *
 * @param {{definitions: string | string[] | Record<string, Record<string, any>>}} options
 *   a definitions folder (with `events/*.yml`), several, or definitions already loaded
 *   (event name → parsed YAML).
 */
export function useMockInternalEventsTracking({ definitions } = /** @type {any} */ ({})) {
  if (definitions === undefined || definitions === null) {
    throw new Error('useMockInternalEventsTracking: pass { definitions: <definitions folder or loaded definitions> }');
  }
  const fromFolders = typeof definitions === 'string' || Array.isArray(definitions);
  const loaded = fromFolders ? loadDefinitions(definitions) : definitions;
  const sources = fromFolders ? [].concat(definitions).join(', ') : 'the definitions given';

  const original = InternalEvents.trackEvent;
  /** @type {unknown[][]} */
  const calls = [];
  /** @type {Error[]} */
  const errors = [];

  /** @type {any} */
  const trackEventSpy = function trackEvent(...args) {
    const [event, additionalProperties = {}, category] = args;
    try {
      checkCall(loaded, sources, event, additionalProperties, category);
    } catch (error) {
      errors.push(error);
      throw error;
    }
    calls.push(args);
    return true;
  };
  trackEventSpy.calls = calls;
  trackEventSpy.errors = errors;
  trackEventSpy.clear = () => {
    calls.length = 0;
    errors.length = 0;
  };
  InternalEvents.trackEvent = trackEventSpy;

  /** @type {Array<() => void>} */
  const disposers = [];
  /** @type {any} */
  let lastParent;

  /** Throws the first error a spy call recorded since `before` (a click handler swallows it). */
  function rethrowSince(before) {
    if (errors.length > before) throw errors[before];
  }

  function triggerIn(parent, selectorOrElement, eventType = 'click') {
    let element = selectorOrElement;
    if (typeof selectorOrElement === 'string') {
      const scope = parent || defaultDocument();
      if (!scope) throw new Error('triggerEvent: no document to look for the selector in');
      element = scope.querySelector(selectorOrElement);
      if (!element) throw new Error(`triggerEvent: nothing matches ${selectorOrElement}`);
    }
    if (!element || typeof element.dispatchEvent !== 'function') throw new Error('triggerEvent: not an element');
    const view = element.ownerDocument && element.ownerDocument.defaultView;
    const EventClass = (view && (eventType === 'click' ? view.MouseEvent : view.Event)) || Event;
    const before = errors.length;
    element.dispatchEvent(new EventClass(eventType, { bubbles: true, cancelable: true }));
    rethrowSince(before);
  }

  return {
    trackEventSpy,
    calls,
    /**
     * Binds the real data-attribute tracking on `parent` (load events are tracked now).
     * @param {Document | Element} [parent]
     */
    bindInternalEventDocument(parent = defaultDocument()) {
      const before = errors.length;
      disposers.push(InternalEvents.bindInternalEventDocument(parent));
      lastParent = parent;
      rethrowSince(before);
      return {
        trackEventSpy,
        triggerEvent: (selectorOrElement, eventType = 'click') => triggerIn(parent, selectorOrElement, eventType),
      };
    },
    /**
     * Dispatches a bubbling DOM event (default "click") on an element, or on the first match of a
     * selector in the last bound parent (or the document). Throws what a failing spy call threw.
     * @param {string | Element} selectorOrElement
     * @param {string} [eventType]
     */
    triggerEvent(selectorOrElement, eventType = 'click') {
      triggerIn(lastParent, selectorOrElement, eventType);
    },
    /** Puts back the real trackEvent and removes the bindings made through this helper. */
    restore() {
      for (const dispose of disposers.splice(0)) dispose();
      if (InternalEvents.trackEvent === trackEventSpy) InternalEvents.trackEvent = original;
    },
  };
}
