import { useState } from "react";
import { api } from "../api/endpoints";
import { errorSentence } from "../api/errors";
import { LogTail } from "./LogTail";
import type { RunLiveStore } from "./runLive";
import { isTerminal } from "./status";
import { useRunState } from "./useRunLive";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  open: "Live",
  closed: "Finished",
  "not-found": "This run does not exist or you cannot see it.",
} as const;

/** Whether the page is receiving live updates, and when it tries again after losing them. */
export function ConnectionStatus({ store }: { store: RunLiveStore }) {
  const connection = useRunState(store, (s) => s.connection);
  const retryInMs = useRunState(store, (s) => s.retryInMs);
  const text =
    connection === "reconnecting"
      ? `Connection lost; reconnecting${retryInMs ? ` in ${Math.round(retryInMs / 1000)} s` : ""}…`
      : CONNECTION_TEXT[connection];
  return (
    <span className={`connection connection-${connection}`} data-testid="run-connection">
      {text}
    </span>
  );
}

/** Cancel: a queued run at once, a running one within seconds; disabled once the run has finished. */
export function CancelRunButton({ store, runId }: { store: RunLiveStore; runId: number }) {
  const status = useRunState(store, (s) => s.run?.status);
  const applyDetail = useRunState(store, (s) => s.applyDetail);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const cancel = async () => {
    setBusy(true);
    setError(null);
    try {
      applyDetail(await api.runs.cancel(runId));
    } catch (e) {
      setError(errorSentence(e));
    } finally {
      setBusy(false);
    }
  };

  const done = status === undefined || isTerminal(status) || status === "cancelling";
  return (
    <>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
      <button type="button" className="danger" data-testid="run-cancel" disabled={done || busy} onClick={() => void cancel()}>
        {busy || status === "cancelling" ? "Cancelling…" : "Cancel"}
      </button>
    </>
  );
}

/** The run's log tail, live, with its earlier lines a click away. */
export function LiveLogTail({ store }: { store: RunLiveStore }) {
  const lines = useRunState(store, (s) => s.lines);
  const finished = useRunState(store, (s) => (s.run ? isTerminal(s.run.status) : false));
  const loadEarlier = useRunState(store, (s) => s.loadEarlierLines);
  return <LogTail lines={lines} finished={finished} onLoadEarlier={loadEarlier} />;
}
