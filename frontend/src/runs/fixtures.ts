import type { Deployment, DeploymentStatus, Run, RunDetail, RunEvent, RunNode, RunStatus, StreamBatch } from "../api/types";

/** Wire objects for the runs tests, shaped as docs/api.md says; override what a test is about. */
export function runOf(status: RunStatus, changes: Partial<Run> = {}): Run {
  return {
    id: 12,
    pipeline: 1,
    pipeline_name: "big_orders",
    workspace: "demo",
    version: 2,
    engine: "spark",
    parameters: {},
    status,
    trigger: "manual",
    schedule: null,
    attempt: 1,
    retry_of: null,
    deployment: null,
    created_by: "ada",
    created_at: "2026-01-01T00:00:00Z",
    not_before: null,
    started_at: null,
    finished_at: null,
    duration_seconds: null,
    error: "",
    ...changes,
  };
}

export function nodeOf(node: string, changes: Partial<RunNode> = {}): RunNode {
  return {
    node,
    type: "transform.filter",
    label: null,
    status: "pending",
    rows_in: null,
    rows_out: null,
    duration_ms: null,
    batches: 0,
    last_batch: null,
    ports: [],
    quality: [],
    updated: null,
    ...changes,
  };
}

export function eventOf(from: RunStatus | null, to: RunStatus, at: string, reason = ""): RunEvent {
  return { from_status: from, to_status: to, at, reason };
}

export function detailOf(status: RunStatus, changes: Partial<RunDetail> = {}): RunDetail {
  return {
    ...runOf(status),
    code: "",
    retried_by: null,
    worker_host: "",
    worker_pid: null,
    job_pid: null,
    heartbeat_at: null,
    events: [],
    nodes: [],
    ...changes,
  };
}

export function batchOf(batch: number, at: string, rows: number, changes: Partial<StreamBatch> = {}): StreamBatch {
  return { run: 12, batch, at, rows, duration_ms: null, rows_per_second: null, lag: null, ...changes };
}

export function deploymentOf(status: DeploymentStatus, changes: Partial<Deployment> = {}): Deployment {
  return {
    id: 3,
    pipeline: 1,
    pipeline_name: "clicks_live",
    workspace: "demo",
    version: 2,
    engine: "spark",
    parameters: {},
    status,
    desired: status === "stopped" || status === "stopping" ? "stopped" : "running",
    restart_pending: false,
    state_generation: 1,
    state_dir: "/var/deployments/3/state-1",
    last_savepoint: "",
    run: null,
    heartbeat_at: null,
    progress: null,
    created_by: "ada",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...changes,
  };
}
