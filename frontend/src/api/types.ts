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
  workspaces: Workspace[];
}

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export const TERMINAL_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];

export interface LastRun {
  id: number;
  status: RunStatus;
  created_at: string;
}

export interface Pipeline {
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
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string;
}

export interface RunDetail extends Run {
  code: string;
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

export type RunSocketMessage =
  | { type: "run.status"; run: Run }
  | { type: "run.log"; lines: LogLine[] };
