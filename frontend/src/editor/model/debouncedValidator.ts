import type { JsonObject, ValidationResult } from "../../api/types";

export interface DebouncedValidatorOptions {
  delayMs: number;
  validate: (document: JsonObject, signal: AbortSignal) => Promise<ValidationResult>;
  onResult: (result: ValidationResult, document: JsonObject) => void;
  onError: (error: unknown) => void;
}

export interface DebouncedValidator {
  /** Validates `document` once no newer document has arrived for `delayMs`. */
  schedule(document: JsonObject): void;
  dispose(): void;
}

/**
 * Debounces validation requests and drops stale answers: only the answer for the newest document
 * is reported, and an older request still in flight is aborted when a newer one starts.
 */
export function createDebouncedValidator(options: DebouncedValidatorOptions): DebouncedValidator {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inFlight: AbortController | null = null;
  let generation = 0;
  let disposed = false;

  const start = (document: JsonObject) => {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const mine = ++generation;
    options.validate(document, controller.signal).then(
      (result) => {
        if (disposed || mine !== generation) return;
        inFlight = null;
        options.onResult(result, document);
      },
      (error: unknown) => {
        if (disposed || mine !== generation || controller.signal.aborted) return;
        inFlight = null;
        options.onError(error);
      },
    );
  };

  return {
    schedule(document) {
      if (disposed) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        start(document);
      }, options.delayMs);
    },
    dispose() {
      disposed = true;
      if (timer !== null) clearTimeout(timer);
      inFlight?.abort();
    },
  };
}
