import { useEffect, useState } from "react";
import { errorSentence, isAbort } from "../api/errors";

export interface Polled<T> {
  /** Null until the first answer. */
  value: T | null;
  error: string | null;
  /** Read it again now. */
  reload: () => void;
  /** Change the value held (e.g. with an object a write answered) until the next read. */
  update: (change: (value: T | null) => T | null) => void;
}

/**
 * Server state read with `load` (keep it stable, e.g. with useCallback), read again every `everyMs`
 * while `again(value)` says it is still changing, and whenever `reload` is called.
 */
export function usePolled<T>(load: (signal: AbortSignal) => Promise<T>, again: (value: T) => boolean, everyMs: number): Polled<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (loaded) => {
        setValue(loaded);
        setError(null);
      },
      (e: unknown) => {
        if (!isAbort(e)) setError(errorSentence(e));
      },
    );
    return () => controller.abort();
  }, [load, generation]);

  const changing = value !== null && again(value);
  useEffect(() => {
    if (!changing) return;
    const timer = setTimeout(() => setGeneration((n) => n + 1), everyMs);
    return () => clearTimeout(timer);
  }, [changing, value, everyMs]);

  return { value, error, reload: () => setGeneration((n) => n + 1), update: setValue };
}
