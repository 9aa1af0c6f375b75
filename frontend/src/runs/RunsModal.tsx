import { useEffect, useState } from "react";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { Run } from "../api/types";
import { formatDateTime } from "../ui/format";
import { Modal } from "../ui/Modal";
import { RunStatusBadge } from "./RunStatusBadge";

/** The pipeline's runs, newest first; choosing one opens it in the run panel. */
export function RunsModal({ pipelineId, onOpen, onClose }: { pipelineId: number; onOpen: (run: Run) => void; onClose: () => void }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    api.runs.list(pipelineId, controller.signal).then(setRuns, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [pipelineId, reload]);

  return (
    <Modal title="Runs" onClose={onClose} wide testId="runs-modal" footer={<button type="button" onClick={() => setReload((n) => n + 1)}>Refresh</button>}>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {!runs && !error && <p className="muted">Loading runs…</p>}
      {runs && runs.length === 0 && <p className="muted">This pipeline has not run yet.</p>}
      {runs && runs.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th>Version</th>
              <th>Engine</th>
              <th>By</th>
              <th>Created</th>
              <th>Finished</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.id} data-testid="run-row" className="clickable" onClick={() => onOpen(run)}>
                <td>
                  <button type="button" className="link-button" data-testid="run-open">
                    #{run.id}
                  </button>
                </td>
                <td>
                  <RunStatusBadge status={run.status} />
                </td>
                <td>v{run.version}</td>
                <td>{run.engine}</td>
                <td>{run.created_by}</td>
                <td>{formatDateTime(run.created_at)}</td>
                <td>{formatDateTime(run.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Modal>
  );
}
