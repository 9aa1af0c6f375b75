import { useNavigate } from "react-router";
import type { Run } from "../api/types";
import { BarChart } from "../ui/charts";
import { formatDateTime, formatDuration } from "../ui/format";
import { durationBars } from "./history";
import { RunStatusBadge } from "./RunStatusBadge";

/** A pipeline's runs: how long each took (a bar per run; click one to open it) and the list. */
export function RunHistory({ runs }: { runs: Run[] }) {
  const navigate = useNavigate();
  if (runs.length === 0) return <p className="muted">This pipeline has not run yet.</p>;
  return (
    <>
      <BarChart bars={durationBars(runs)} unit="seconds" onSelect={(id) => void navigate(`/runs/${id}`)} testId="duration-chart" />
      <table className="table" data-testid="run-history">
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Started by</th>
            <th>Version</th>
            <th>Engine</th>
            <th>Created</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="run-row" className="clickable" onClick={() => void navigate(`/runs/${run.id}`)}>
              <td>
                <button type="button" className="link-button" data-testid="run-open">
                  #{run.id}
                </button>
              </td>
              <td>
                <RunStatusBadge status={run.status} />
              </td>
              <td>
                {run.trigger === "manual" ? (run.created_by ?? "a deleted user") : run.trigger}
                {run.attempt > 1 && <span className="muted small"> attempt {run.attempt}</span>}
              </td>
              <td>v{run.version}</td>
              <td>{run.engine}</td>
              <td>{formatDateTime(run.created_at)}</td>
              <td>{formatDuration(run.duration_seconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
