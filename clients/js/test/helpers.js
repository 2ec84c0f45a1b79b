// Shared set-up for the tests: a jsdom page installed as the globals the client reads, a fake
// fetch and a fake sendBeacon that record what they are given.
import { JSDOM } from 'jsdom';

const GLOBALS = ['window', 'document', 'navigator'];
const saved = new Map();

/** Installs a page (head and body HTML) as globalThis.window/document/navigator. */
export function installDom({ head = '', body = '', url = 'https://forge.example.com/forge/app/-/merge_requests/1' } = {}) {
  const dom = new JSDOM(`<!doctype html><html><head>${head}</head><body>${body}</body></html>`, { url });
  const values = { window: dom.window, document: dom.window.document, navigator: dom.window.navigator };
  for (const name of GLOBALS) {
    if (!saved.has(name)) saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, { value: values[name], configurable: true, writable: true });
  }
  return dom;
}

/** Puts the globals back as they were before installDom. */
export function uninstallDom() {
  for (const [name, descriptor] of saved) {
    if (descriptor) Object.defineProperty(globalThis, name, descriptor);
    else delete globalThis[name];
  }
  saved.clear();
}

/** The JSON page-context script tag, as the server renders it. */
export function contextScript(context) {
  return `<script type="application/json" id="otel-internal-events-context">${JSON.stringify(context)}</script>`;
}

/**
 * A fetch that records each call and answers from `script`: a status number, an object
 * {status, headers}, or an Error to reject with; 200 once the script is used up.
 */
export function fakeFetch(script = []) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, headers: init.headers, body: JSON.parse(init.body) });
    const next = script.length > 0 ? script.shift() : 200;
    if (next instanceof Error) throw next;
    const { status, headers = {} } = typeof next === 'number' ? { status: next } : next;
    return { status, ok: status >= 200 && status < 300, headers: new Headers(headers) };
  };
  fetch.calls = calls;
  return fetch;
}

/** A sendBeacon that records (url, data) and returns `result`. */
export function fakeBeacon(result = true) {
  const calls = [];
  const sendBeacon = (url, data) => {
    calls.push({ url, data });
    return result;
  };
  sendBeacon.calls = calls;
  return sendBeacon;
}

/** Lets pending promise callbacks run (setImmediate is not faked by the tests' mock timers). */
export async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
