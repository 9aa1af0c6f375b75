import type { NodeStatus, RunNode, RunStatus, StreamBatch, TaskProgress } from "../api/types";
import type { Series } from "../ui/charts";

/**
 * Two micro-batches reported closer together than this (a backlog worked through at once) count
 * as this far apart, so a burst of reports does not show as a spike of throughput.
 */
export const MIN_BATCH_INTERVAL_SECONDS = 1;

/**
 * Rows per second a stream's sources produced, one point per micro-batch: the rate the job measured
 * (rows over the batch's duration) where it reported a duration, else the batch's rows over the time
 * since the batch before it was reported.
 */
export function throughputSeries(batches: StreamBatch[]): Series[] {
  const points = [];
  let previous: number | null = null;
  for (const batch of batches) {
    const at = Date.parse(batch.at);
    const since = previous === null ? null : Math.max((at - previous) / 1000, MIN_BATCH_INTERVAL_SECONDS);
    previous = at;
    const rate = batch.rows_per_second ?? (since === null ? null : batch.rows / since);
    if (rate !== null) points.push({ x: at, y: rate });
  }
  return [{ name: "rows read", points }];
}

/** Records the sources were behind after each micro-batch that reported it (e.g. Kafka offsets not yet read). */
export function lagSeries(batches: StreamBatch[]): Series[] {
  const points = batches.flatMap((b) => (b.lag === null ? [] : [{ x: Date.parse(b.at), y: b.lag }]));
  return points.length ? [{ name: "lag", points }] : [];
}

export interface Progress {
  /** Nodes done out of all. */
  done: number;
  total: number;
  /** The job's task count the fraction was taken from while it runs, if it reported one. */
  tasks: TaskProgress | null;
  /** 0..1; null while the run is under way and no node has finished (shown as "working"). */
  fraction: number | null;
  label: string;
}

const NODE_DONE: readonly NodeStatus[] = ["succeeded"];

/**
 * How far a batch run has got: nodes that finished out of all, complete once the run succeeded.
 * While it runs, the bar follows the job's own task count when it reports one (tasks done out of the
 * tasks of the stages started so far, so it may step back when a stage starts).
 */
export function batchProgress(nodes: RunNode[], status: RunStatus, tasks: TaskProgress | null = null): Progress {
  const total = nodes.length;
  const done = status === "succeeded" ? total : nodes.filter((n) => NODE_DONE.includes(n.status)).length;
  const label = total === 0 ? "No nodes" : `${done} of ${total} node${total === 1 ? "" : "s"} done`;
  if (status === "queued" || status === "starting") return { done, total, tasks: null, fraction: 0, label: status === "queued" ? "Waiting for a worker" : "Starting" };
  if (status === "running" && tasks !== null && tasks.tasks_total > 0) {
    const fraction = Math.min(1, tasks.tasks_done / tasks.tasks_total);
    return { done, total, tasks, fraction, label: `${label}; ${tasks.tasks_done} of ${tasks.tasks_total} tasks` };
  }
  if (total === 0) return { done, total, tasks: null, fraction: status === "succeeded" ? 1 : 0, label };
  if (status === "running" && done === 0) return { done, total, tasks: null, fraction: null, label: `${label}; working` };
  return { done, total, tasks: null, fraction: done / total, label };
}
