import type { Run } from "../api/types";
import type { Bar } from "../ui/charts";
import { formatDuration } from "../ui/format";
import { runTone } from "./status";

/** One bar per run, oldest on the left, as tall as the run took; runs still going have a stub. */
export function durationBars(runs: Run[]): Bar[] {
  return [...runs].reverse().map((run) => ({
    key: run.id,
    value: run.duration_seconds,
    tone: runTone(run.status),
    title:
      run.duration_seconds === null
        ? `Run #${run.id}: ${run.status}`
        : `Run #${run.id}: ${run.status} in ${formatDuration(run.duration_seconds)}`,
  }));
}

export function hasActiveRun(runs: Run[]): boolean {
  return runs.some((run) => run.finished_at === null);
}
