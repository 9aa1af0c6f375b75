import { Link } from "react-router";
import type { Run } from "../api/types";
import { formatDateTime } from "../ui/format";
import { CancelRunButton, ConnectionStatus, LiveLogTail } from "./RunControls";
import { LiveHeartbeat } from "./RunHeartbeat";
import { RunStatusBadge } from "./RunStatusBadge";
import { useRunLive, useRunState } from "./useRunLive";

/** The editor's live view of the run it started: status, error, log tail, Cancel, and the way to the run page. */
export function RunPanel({ runId, initial, onClose }: { runId: number; initial: Run | null; onClose: () => void }) {
  const store = useRunLive(runId, initial);
  const run = useRunState(store, (s) => s.run);
  const loadError = useRunState(store, (s) => s.loadError);

  return (
    <section className="run-panel" data-testid="run-panel" aria-label={`Run ${runId}`}>
      <header className="run-panel-head">
        <h3>Run #{runId}</h3>
        {run && <RunStatusBadge status={run.status} testId="run-status" />}
        {run && (
          <span className="muted small">
            v{run.version} · {run.engine} · {run.created_by ?? "deleted user"} · {formatDateTime(run.created_at)}
          </span>
        )}
        <span className="spacer" />
        <LiveHeartbeat store={store} />
        <ConnectionStatus store={store} />
        <Link to={`/runs/${runId}`} data-testid="run-open-page">
          Open run page
        </Link>
        <CancelRunButton store={store} runId={runId} />
        <button type="button" className="icon-button" aria-label="Close run panel" onClick={onClose}>
          ×
        </button>
      </header>
      {loadError && (
        <p className="field-error" role="alert">
          {loadError}
        </p>
      )}
      {run?.error && (
        <pre className="run-error" data-testid="run-error" role="alert">
          {run.error}
        </pre>
      )}
      <LiveLogTail store={store} />
    </section>
  );
}
