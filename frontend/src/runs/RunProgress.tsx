import type { RunNode, RunStatus } from "../api/types";
import { batchProgress } from "./runMetrics";

/** A batch run's progress: nodes done out of all, or a moving bar while the job works on the first. */
export function RunProgress({ nodes, status }: { nodes: RunNode[]; status: RunStatus }) {
  const progress = batchProgress(nodes, status);
  const percent = progress.fraction === null ? null : Math.round(progress.fraction * 100);
  return (
    <div className="progress" data-testid="run-progress" data-done={progress.done} data-total={progress.total}>
      <div
        className={percent === null ? "progress-bar progress-working" : `progress-bar progress-${status}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-label="Progress"
      >
        <div className="progress-fill" style={{ width: `${percent ?? 100}%` }} />
      </div>
      <span className="small">
        {progress.label}
        {percent !== null && progress.total > 0 && ` (${percent}%)`}
      </span>
    </div>
  );
}
