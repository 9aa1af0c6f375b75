import { useEffect, useRef, useState } from "react";
import { api } from "../api/endpoints";
import { errorSentence } from "../api/errors";
import type { Run } from "../api/types";
import { formatDateTime } from "../ui/format";
import { RunStatusBadge } from "./RunStatusBadge";
import { isTerminal } from "./runStream";
import { useRunStream } from "./useRunStream";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  open: "Live",
  closed: "Finished",
  "not-found": "This run does not exist or you cannot see it.",
} as const;

/** The time of day of an ISO timestamp, which is what a log tail needs. */
function logTime(ts: string): string {
  const match = /T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(ts);
  return match?.[1] ?? ts;
}

/** Live view of one run: status badge, error, log tail (auto-scrolls while at the bottom) and Cancel. */
export function RunPanel({ runId, initial, onClose }: { runId: number; initial: Run | null; onClose: () => void }) {
  const { run, lines, connection, retryInMs, loadError, setRun } = useRunStream(runId, initial);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const logRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);

  useEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [lines]);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      setRun(await api.runs.cancel(runId));
    } catch (error) {
      setCancelError(errorSentence(error));
    } finally {
      setCancelling(false);
    }
  };

  const finished = run ? isTerminal(run.status) : false;
  const connectionText =
    connection === "reconnecting"
      ? `Connection lost; reconnecting${retryInMs ? ` in ${Math.round(retryInMs / 1000)} s` : ""}…`
      : CONNECTION_TEXT[connection];

  return (
    <section className="run-panel" data-testid="run-panel" aria-label={`Run ${runId}`}>
      <header className="run-panel-head">
        <h3>Run #{runId}</h3>
        {run && <RunStatusBadge status={run.status} testId="run-status" />}
        {run && (
          <span className="muted small">
            v{run.version} · {run.engine} · {run.created_by} · {formatDateTime(run.created_at)}
          </span>
        )}
        <span className="spacer" />
        <span className={`connection connection-${connection}`}>{connectionText}</span>
        <button
          type="button"
          className="danger"
          data-testid="run-cancel"
          disabled={!run || finished || cancelling}
          onClick={() => void cancel()}
        >
          {cancelling ? "Cancelling…" : "Cancel"}
        </button>
        <button type="button" className="icon-button" aria-label="Close run panel" onClick={onClose}>
          ×
        </button>
      </header>
      {loadError && (
        <p className="field-error" role="alert">
          {loadError}
        </p>
      )}
      {cancelError && (
        <p className="field-error" role="alert">
          {cancelError}
        </p>
      )}
      {run?.error && (
        <pre className="run-error" data-testid="run-error" role="alert">
          {run.error}
        </pre>
      )}
      <pre
        className="run-log"
        data-testid="run-log"
        ref={logRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {lines.length === 0 && <span className="muted">{finished ? "No log lines." : "Waiting for log lines…"}</span>}
        {lines.map((line) => (
          <div key={line.seq} className={`log-line log-${line.level}`}>
            <span className="log-ts" title={line.ts}>
              {logTime(line.ts)}
            </span>{" "}
            {line.text}
          </div>
        ))}
      </pre>
    </section>
  );
}
