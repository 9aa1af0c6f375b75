import { useEffect, useState } from "react";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { LogLine, Run } from "../api/types";
import { RunStream, runSocketUrl } from "./runStream";
import type { ConnectionState } from "./runStream";

export interface RunStreamView {
  run: Run | null;
  lines: LogLine[];
  connection: ConnectionState;
  retryInMs: number | null;
  loadError: string | null;
  setRun: (run: Run) => void;
}

/** Live status and log of one run: a REST fetch for a fast first paint, then the websocket. */
export function useRunStream(runId: number, initial: Run | null): RunStreamView {
  const [run, setRun] = useState<Run | null>(initial);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [connection, setConnection] = useState<ConnectionState>("connecting");
  const [retryInMs, setRetryInMs] = useState<number | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    setLoadError(null);
    api.runs.get(runId, controller.signal).then(
      (detail) => setRun((current) => (current && current.id === detail.id && isNewer(current, detail) ? current : detail)),
      (error: unknown) => {
        if (!isAbort(error)) setLoadError(errorSentence(error));
      },
    );
    const stream = new RunStream({
      url: runSocketUrl(runId, window.location),
      createSocket: (url) => new WebSocket(url),
      fetchLog: (after) => api.runs.log(runId, after, undefined, controller.signal),
      onRun: setRun,
      onLines: setLines,
      onConnection: (state, retry) => {
        setConnection(state);
        setRetryInMs(retry ?? null);
      },
    });
    stream.start();
    return () => {
      controller.abort();
      stream.stop();
    };
  }, [runId]);

  return { run, lines, connection, retryInMs, loadError, setRun };
}

const ORDER = ["queued", "running", "succeeded", "failed", "cancelled"];

/** Whether `current` is further along than `fetched`, so a slow REST answer does not undo a websocket update. */
function isNewer(current: Run, fetched: Run): boolean {
  return ORDER.indexOf(current.status) > ORDER.indexOf(fetched.status);
}
