// Types of otel-internal-events/testing.

/** Event name → the parsed YAML of its definition file. */
export type Definitions = Record<string, Record<string, any>>;

export interface TrackEventSpy {
  (event: string, additionalProperties?: Record<string, unknown>, category?: string): boolean;
  /** The arguments of each call that passed the checks, as passed. */
  calls: unknown[][];
  /** The errors thrown by calls that failed the checks. */
  errors: Error[];
  clear(): void;
}

export interface MockInternalEventsTracking {
  trackEventSpy: TrackEventSpy;
  calls: unknown[][];
  bindInternalEventDocument(parent?: Document | Element): {
    trackEventSpy: TrackEventSpy;
    triggerEvent(selectorOrElement: string | Element, eventType?: string): void;
  };
  triggerEvent(selectorOrElement: string | Element, eventType?: string): void;
  restore(): void;
}

export declare function loadDefinitions(folders: string | string[]): Definitions;
export declare function useMockInternalEventsTracking(options: { definitions: string | string[] | Definitions }): MockInternalEventsTracking;
