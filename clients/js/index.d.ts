// Types of the otel-internal-events browser client.

/** `label`, `property`, `value` and custom properties (checked by the server against the definition). */
export interface AdditionalProperties {
  label?: string | null;
  property?: string | null;
  value?: number | null;
  [custom: string]: unknown;
}

/** The page context the server renders as JSON; `configure()` can override each field. */
export interface PageContext {
  /** Default "/api/v4/usage_data/track_events". */
  endpoint?: string;
  /** Sent as `Authorization: Bearer <token>`; a function is called at each send. */
  token?: string | null | (() => string | null | undefined);
  user_id?: number | string | null;
  namespace_id?: number | null;
  project_id?: number | null;
  /** Send events of anonymous visitors too. Default false. */
  send_anonymous?: boolean;
  /** Send nothing when Do Not Track is on. Default false. */
  respect_dnt?: boolean;
}

export interface FetchResponseLike {
  status: number;
  ok?: boolean;
  headers?: { get(name: string): string | null };
}

export interface Options extends PageContext {
  /** Default 500. */
  flushIntervalMs?: number;
  /** Default 50, the API's limit (larger values are capped at 50). */
  maxBatch?: number;
  /** Retries after the first attempt. Default 5. */
  maxRetries?: number;
  /** First retry delay; doubled at each retry. Default 500. */
  retryBaseMs?: number;
  fetch?: (url: string, init: { method: 'POST'; keepalive: true; headers: Record<string, string>; body: string }) => Promise<FetchResponseLike>;
  sendBeacon?: (url: string, data: Blob | string) => boolean;
}

export interface InternalEventsMixin {
  methods: {
    trackEvent(event: string, additionalProperties?: AdditionalProperties, category?: string): boolean;
  };
}

export interface InternalEventsApi {
  /** Throws an Error on bad input; returns false when the event is dropped (anonymous, Do Not Track). */
  trackEvent(event: string, additionalProperties?: AdditionalProperties, category?: string): boolean;
  mixin(): InternalEventsMixin;
  bindInternalEventDocument(parent?: Document | Element): () => void;
  configure(options: Options): void;
  /** Resolves when the batches sent are settled: true when all were delivered. */
  flush(): Promise<boolean>;
  /** Forgets configuration, the page context, queued events, pending retries and bindings. */
  reset(): void;
}

export declare const InternalEvents: InternalEventsApi;
export default InternalEvents;

export declare function bindInternalEventDocument(parent?: Document | Element): () => void;
export declare function configure(options: Options): void;
export declare function flush(): Promise<boolean>;
/** Throws an Error on bad input; returns the properties as they would be sent. */
export declare function validateTrackEvent(event: unknown, additionalProperties?: unknown, category?: unknown): Record<string, unknown>;
