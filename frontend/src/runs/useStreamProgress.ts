import { useEffect, useRef } from "react";
import { api } from "../api/endpoints";
import type { RunLiveStore } from "./runLive";
import { useRunState } from "./useRunLive";

/** Re-read the micro-batches at most this often, however fast the job reports. */
export const PROGRESS_REFRESH_MS = 1000;

/**
 * Keeps a stream's micro-batches (throughput and lag) in the store: read when the page opens and
 * again, at most once a second, each time the websocket says the job reported new metrics.
 */
export function useStreamProgress(store: RunLiveStore, runId: number, enabled: boolean): void {
  const revision = useRunState(store, (s) => s.metricsRevision);
  const lastRead = useRef(0);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    const read = () => {
      lastRead.current = Date.now();
      api.runs.progress(runId, undefined, controller.signal).then(
        (batches) => store.getState().setProgress(batches),
        () => undefined, // the next report reads again; the charts keep what they have
      );
    };
    const timer = setTimeout(read, Math.max(0, lastRead.current + PROGRESS_REFRESH_MS - Date.now()));
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [store, runId, enabled, revision]);
}
