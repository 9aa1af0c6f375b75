/** Wire types for docs/api.md. Field names follow the API exactly. */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export type WorkspaceRole = "viewer" | "editor" | "operator" | "admin";

export interface Workspace {
  id: number;
  slug: string;
  name: string;
  role: WorkspaceRole;
}

export interface Me {
  id: number;
  username: string;
  /** An instance superuser: admin of every workspace, manages users and workspaces. */
  is_superuser: boolean;
  workspaces: Workspace[];
}

/** A run's state machine (docs/api.md#runs): active statuses first, then the finished ones. */
export const RUN_STATUSES = [
  "queued",
  "starting",
  "running",
  "cancelling",
  "succeeded",
  "failed",
  "cancelled",
  "lost",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled", "lost"];

export type RunTrigger = "manual" | "schedule" | "retry" | "deployment";

/** What one node of a run is doing, as the run and its job's metrics tell. */
export const NODE_STATUSES = ["pending", "running", "succeeded", "failed", "cancelled", "lost"] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface LastRun {
  id: number;
  status: RunStatus;
  created_at: string;
}

/** How a pipeline's runs are run (`PATCH /api/pipelines/{id}/`). */
export interface RunPolicy {
  max_attempts: number;
  retry_backoff_seconds: number;
  timeout_seconds: number | null;
  allow_concurrent_runs: boolean;
}

export interface Pipeline extends RunPolicy {
  id: number;
  workspace: string;
  name: string;
  description: string;
  latest_version: number | null;
  created_at: string;
  updated_at: string;
  last_run: LastRun | null;
}

export interface PipelineDetail extends Pipeline {
  document: JsonObject | null;
}

export interface PipelineCreate {
  workspace: string;
  name: string;
  description?: string;
  document?: JsonObject;
}

export interface Version {
  number: number;
  author: string;
  message: string;
  created_at: string;
  valid: boolean;
}

export interface VersionDetail extends Version {
  document: JsonObject;
}

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  node: string | null;
  path: string;
  message: string;
}

export interface SchemaField {
  name: string;
  type: string;
  nullable: boolean;
}

export interface ValidationResult {
  valid: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  schemas: Record<string, Record<string, SchemaField[]>>;
}

export interface VersionSaved extends VersionDetail {
  validation: ValidationResult;
}

export type Engine = "spark" | "flink";

export const ENGINES: readonly Engine[] = ["spark", "flink"];

export type ParameterValues = Record<string, JsonPrimitive>;

export interface CompileResult {
  engine: Engine;
  language: string;
  code: string;
}

export interface FileEntry {
  path: string;
  size: number;
  modified: string;
}

export interface FileList {
  files: FileEntry[];
}

export type FileFormat = "csv" | "json" | "parquet";

export interface InferSchemaRequest {
  path: string;
  format: FileFormat;
  options?: { header?: boolean; delimiter?: string };
}

export interface InferredSchema {
  schema: SchemaField[];
  sample: JsonObject[];
}

export interface Run {
  id: number;
  pipeline: number;
  pipeline_name: string;
  workspace: string;
  version: number;
  engine: Engine;
  parameters: ParameterValues;
  status: RunStatus;
  trigger: RunTrigger;
  schedule: number | null;
  attempt: number;
  retry_of: number | null;
  /** The deployment it is a run of (a stream kept running); null for any other run. */
  deployment: number | null;
  created_by: string | null;
  created_at: string;
  not_before: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_seconds: number | null;
  error: string;
}

/** One transition of a run's state machine (`from_status` is null for its creation). */
export interface RunEvent {
  from_status: RunStatus | null;
  to_status: RunStatus;
  at: string;
  reason: string;
}

export interface RunNodePort {
  port: string;
  rows: number;
  batches: number;
}

export interface RunNodeQuality {
  rule: string;
  passed: number;
  failed: number;
}

export interface RunNode {
  node: string;
  type: string | null;
  label: string | null;
  status: NodeStatus;
  rows_in: number | null;
  rows_out: number | null;
  duration_ms: number | null;
  batches: number;
  last_batch: number | null;
  ports: RunNodePort[];
  quality: RunNodeQuality[];
  updated: string | null;
  /** Records behind the end of its topic (a Kafka source of a stream), where the job reports it. */
  lag?: number | null;
}

export type AlertSeverity = "info" | "warning" | "critical";

export interface AlertDelivery {
  id: number;
  webhook: number | null;
  url: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

/** An alert a `sink.alert` node raised: pushed live (`run.alert`) and listed by `GET /api/runs/{id}/alerts/`. */
export interface RunAlert {
  /** 1, 2, ... within the run (the REST answer has it; a push has it where the server sends it). */
  seq?: number;
  node: string;
  severity: AlertSeverity;
  message: string;
  at: string;
  /** Its sending to the webhooks (REST answers only). */
  deliveries?: AlertDelivery[];
}

export interface AlertPage {
  alerts: RunAlert[];
  next: number;
}

/** One micro-batch of a stream (`GET /api/runs/{id}/progress/`). */
/** How far a batch job has got, as its engine counts it: tasks done out of the tasks of the stages started so far. */
export interface TaskProgress {
  tasks_done: number;
  tasks_total: number;
  /** The newest running stage, if any. */
  stage: number | null;
}

export interface StreamBatch {
  run: number;
  batch: number;
  at: string;
  rows: number;
  duration_ms: number | null;
  rows_per_second: number | null;
  lag: number | null;
}

export interface RunDetail extends Run {
  code: string;
  retried_by: number | null;
  worker_host: string;
  worker_pid: number | null;
  job_pid: number | null;
  heartbeat_at: string | null;
  events: RunEvent[];
  nodes: RunNode[];
}

export interface Schedule {
  id: number;
  pipeline: number;
  cron: string;
  timezone: "UTC";
  parameters: ParameterValues;
  engine: Engine;
  enabled: boolean;
  next_fire_at: string | null;
  last_fired_at: string | null;
  last_run: number | null;
  last_error: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ScheduleCreate {
  cron: string;
  parameters?: ParameterValues;
  engine?: Engine;
  enabled?: boolean;
}

/** What a deployment is doing, from what was asked of it and its newest run (docs/api.md#streaming-deployments). */
export const DEPLOYMENT_STATUSES = ["starting", "running", "stopping", "stopped", "failed"] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** A streaming pipeline version kept running; each start (and restart) is a run of it. */
export interface Deployment {
  id: number;
  pipeline: number;
  pipeline_name: string;
  workspace: string;
  /** The version it runs (or runs next, during an upgrade). */
  version: number;
  engine: Engine;
  parameters: ParameterValues;
  status: DeploymentStatus;
  desired: "running" | "stopped";
  /** A run starts once the current one has stopped (an upgrade). */
  restart_pending: boolean;
  /** Goes up each time its state is reset. */
  state_generation: number;
  /** Where its checkpoints and savepoints are kept. */
  state_dir: string;
  /** The savepoint its last stop took (Flink on a session cluster); "" otherwise. */
  last_savepoint: string;
  /** Its newest run. */
  run: Run | null;
  heartbeat_at: string | null;
  /** Its newest micro-batch. */
  progress: StreamBatch | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeploymentCreate {
  version?: number;
  engine?: Engine;
  parameters?: ParameterValues;
}

export interface DeploymentUpgrade {
  version?: number;
  /** Start the new version with fresh state when the old state cannot serve it. */
  reset_state?: boolean;
}

export interface DeploymentUpgradeResult {
  deployment: Deployment;
  /** What changes all the same (e.g. a new sink starts empty). */
  notes: string[];
}

/** A 409 of the deployment endpoints: refused in its present state, or its state cannot serve a version. */
export interface DeploymentConflict {
  detail: string;
  active_run?: number;
  problems?: string[];
}

export type LogLevel = "info" | "warning" | "error";

export interface LogLine {
  seq: number;
  ts: string;
  level: LogLevel;
  text: string;
}

export interface LogPage {
  lines: LogLine[];
  next: number;
}

/** What the run websocket sends (docs/api.md#websocket-live-runs). */
export type RunSocketMessage =
  | { type: "run.status"; run: Run; nodes?: RunNode[]; event?: RunEvent }
  | { type: "run.log"; lines: LogLine[] }
  | { type: "run.metrics"; status?: RunStatus; nodes: RunNode[] }
  | { type: "run.alert"; alerts: RunAlert[] }
  | ({ type: "run.progress" } & TaskProgress)
  /** The worker supervising the run is alive; `heartbeat_at` is the time it recorded. */
  | { type: "run.heartbeat"; heartbeat_at: string };
