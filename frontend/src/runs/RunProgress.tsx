import type { RunNode, RunStatus, TaskProgress } from "../api/types";
import { batchProgress } from "./runMetrics";

/**
 * A batch run's progress: nodes done out of all, the bar following the job's tasks while it reports
 * them, or a moving bar while the job works on the first node.
 */
export function RunProgress({ nodes, status, tasks = null }: { nodes: RunNode[]; status: RunStatus; tasks?: TaskProgress | null }) {
  const progress = batchProgress(nodes, status, tasks);
  const percent = progress.fraction === null ? null : Math.round(progress.fraction * 100);
  return (
    <div
      className="progress"
      data-testid="run-progress"
      data-done={progress.done}
      data-total={progress.total}
      data-tasks-done={progress.tasks?.tasks_done}
      data-tasks-total={progress.tasks?.tasks_total}
    >
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
