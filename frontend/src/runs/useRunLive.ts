import { useEffect, useState } from "react";
import { useStore } from "zustand";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { AlertPage, Run } from "../api/types";
import { createRunLiveStore } from "./runLive";
import type { RunLiveState, RunLiveStore } from "./runLive";
import { RunStream, runSocketUrl } from "./runStream";
import { isTerminal } from "./status";

const ALERT_PAGE = 5000;
const MAX_ALERT_PAGES = 100;

/**
 * Pages through a run's alerts from `after` (the API's own cursor, like the log's), handing each
 * page on; answers the cursor to start from next time.
 */
export async function readAlerts(
  fetchPage: (after: number) => Promise<AlertPage>,
  after: number,
  onPage: (page: AlertPage) => void,
): Promise<number> {
  let cursor = after;
  for (let page = 0; page < MAX_ALERT_PAGES; page += 1) {
    const result = await fetchPage(cursor);
    onPage(result);
    if (result.alerts.length === 0 || result.next <= cursor) break;
    cursor = result.next;
  }
  return cursor;
}

/**
 * One run, live: its detail and alerts over REST for a fast first paint and again each time the
 * websocket (re)opens (so nothing pushed while disconnected is missed), then every push of the
 * websocket. The store belongs to one run: key the component that calls this by the run's id.
 */
export function useRunLive(runId: number, initial: Run | null): RunLiveStore {
  const [store] = useState(() => createRunLiveStore(initial));

  useEffect(() => {
    const controller = new AbortController();
    const live = store.getState();
    const report = (error: unknown) => {
      if (!isAbort(error)) live.setLoadError(errorSentence(error));
    };
    let alertCursor = 0;
    const catchUpAlerts = () =>
      readAlerts(
        (after) => api.runs.alerts(runId, after, ALERT_PAGE, controller.signal),
        alertCursor,
        (page) => live.addAlerts(page.alerts),
      ).then((cursor) => {
        alertCursor = Math.max(alertCursor, cursor);
      }, report);
    const refresh = () => {
      api.runs.get(runId, controller.signal).then(live.applyDetail, report);
      void catchUpAlerts();
    };
    const stream = new RunStream({
      url: runSocketUrl(runId, window.location),
      createSocket: (url) => new WebSocket(url),
      fetchLog: (after, limit) => api.runs.log(runId, after, limit, controller.signal),
      onUpdate: (update) => {
        live.applyUpdate(update);
        // Pushes are best effort: once the run has ended, read whatever alerts were missed.
        if (update.type === "run.status" && update.event && isTerminal(update.run.status)) void catchUpAlerts();
      },
      onLines: live.setLines,
      onOpen: refresh,
      onConnection: (state, retry) => live.setConnection(state, retry ?? null),
    });
    live.setEarlierLoader(() => stream.loadEarlier());
    refresh();
    stream.start();
    return () => {
      controller.abort();
      stream.stop();
      live.setEarlierLoader(null);
    };
  }, [runId, store]);

  return store;
}

/** A slice of a run's live state, re-rendering only when it changes. */
export function useRunState<T>(store: RunLiveStore, selector: (state: RunLiveState) => T): T {
  return useStore(store, selector);
}
