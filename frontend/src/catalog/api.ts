/** Wire types and calls for the catalog, lineage and quality endpoints (docs/api.md). */
import { api } from "../api/endpoints";
import type { JsonObject } from "../api/types";

export type DatasetKind = "file" | "kafka" | "iceberg";
export type Classification = "" | "pii" | "confidential" | "internal" | "public";
export type SchemaSource = "" | "declared" | "written" | "observed";
export type How = "identity" | "join_key" | "expression" | "aggregation" | "filter" | "read";

export const CLASSIFICATIONS: readonly Classification[] = ["", "pii", "confidential", "internal", "public"];

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

export interface DatasetRef {
  id: number;
  uri: string;
  kind: DatasetKind;
  namespace: string;
  name: string;
  format: string;
}

export interface DatasetSummary extends DatasetRef {
  workspace: string;
  description: string;
  owner: string | null;
  tags: string[];
  row_count: number | null;
  size_bytes: number | null;
  last_updated_at: string | null;
  refreshed_at: string | null;
}

export interface DatasetColumn extends Column {
  position: number;
  present: boolean;
  classification: Classification;
  description: string;
}

export interface SchemaVersion {
  number: number;
  schema: Column[];
  source: Exclude<SchemaSource, "">;
  pipeline: number | null;
  pipeline_version: number | null;
  run: number | null;
  created_at: string;
}

export interface Snapshot {
  snapshot_id: string;
  parent_id: string | null;
  committed_at: string;
  operation: string;
  summary: Record<string, string>;
}

export interface PipelineUse {
  id: number;
  name: string;
  version: number;
  node: string;
}

export interface DatasetDetail extends DatasetSummary {
  options: JsonObject;
  schema: Column[];
  schema_source: SchemaSource;
  refresh_error: string;
  created_at: string;
  columns: DatasetColumn[];
  schema_versions: SchemaVersion[];
  snapshots: Snapshot[];
  producers: PipelineUse[];
  consumers: PipelineUse[];
  quarantine_of: PipelineUse[];
  can_view_pii: boolean;
  can_edit: boolean;
}

export interface DatasetUpdate {
  description?: string;
  owner?: string | null;
  tags?: string[];
  columns?: { name: string; classification?: Classification; description?: string }[];
}

export type Row = Record<string, unknown>;

export interface RowsPage {
  columns: Column[];
  rows: Row[];
  offset: number;
  has_more: boolean;
  masked: string[];
}

export interface QualityRuleCount {
  node: string;
  rule: string;
  passed: number;
  failed: number;
}

export interface DatasetQualityRun {
  run: number;
  pipeline: number;
  pipeline_name: string;
  status: string;
  created_at: string;
  finished_at: string | null;
  node: string;
  rows: number | null;
  rules: QualityRuleCount[];
}

export interface DatasetQuery {
  workspace?: string;
  q?: string;
  tag?: string;
  column?: string;
  kind?: DatasetKind | "";
}

// --- lineage ---------------------------------------------------------------------------------------

export type Direction = "upstream" | "downstream" | "both";

export interface GraphDataset extends DatasetRef {
  depth: number;
}

export interface EdgeColumn {
  source_column: string;
  target_column: string | null;
  how: How;
}

export interface GraphEdge {
  source: number;
  target: number;
  pipeline: number;
  columns: EdgeColumn[];
}

export interface PipelineRef {
  id: number;
  name: string;
  version: number;
}

export interface LineageGraph {
  root: { dataset: number; column: string | null };
  direction: Direction;
  datasets: GraphDataset[];
  columns: { dataset: number; column: string | null; depth: number }[];
  pipelines: PipelineRef[];
  edges: GraphEdge[];
}

export interface Impact {
  dataset: DatasetRef;
  column: string;
  columns: { dataset: DatasetRef; column: string; depth: number }[];
  pipelines: (PipelineRef & {
    uses: { dataset: number; column: string; target: number | null; target_column: string | null; how: How }[];
  })[];
  datasets: (DatasetRef & { pipeline: number; node: string })[];
}

export interface RecordDataset extends DatasetRef {
  node: string;
  direction: "input" | "output";
  rows: number | null;
  schema: Column[];
  quality_nodes: string[];
  quarantine_of: string[];
}

export interface LineageRecord {
  pipeline: number;
  version: number;
  run: number | null;
  parameters: JsonObject;
  datasets: RecordDataset[];
  columns: { source: number; source_column: string; target: number; target_column: string | null; how: How }[];
  compiler: JsonObject;
}

export interface RunQualityNode {
  node: string;
  label: string | null;
  rules: {
    rule: string;
    expression: string;
    on_fail: "warn" | "drop" | "quarantine" | "fail";
    passed: number | null;
    failed: number | null;
    batches: number;
  }[];
  quarantine: (DatasetRef & { node: string })[];
}

export interface OpenLineageEventRecord {
  event_type: "START" | "COMPLETE" | "FAIL" | "ABORT";
  transport: string;
  emitted_at: string;
  error: string;
  event: JsonObject;
}

const client = api.client;

export const catalogApi = {
  datasets: (query: DatasetQuery, signal?: AbortSignal) =>
    client.get<DatasetSummary[]>("/api/catalog/datasets/", { query: { ...query }, signal }),
  dataset: (id: number, signal?: AbortSignal) => client.get<DatasetDetail>(`/api/catalog/datasets/${id}/`, { signal }),
  update: (id: number, body: DatasetUpdate) => client.patch<DatasetDetail>(`/api/catalog/datasets/${id}/`, body),
  refresh: (id: number) => client.post<DatasetDetail>(`/api/catalog/datasets/${id}/refresh/`),
  rows: (id: number, offset: number, limit: number, signal?: AbortSignal) =>
    client.get<RowsPage>(`/api/catalog/datasets/${id}/rows/`, { query: { offset, limit }, signal }),
  quality: (id: number, signal?: AbortSignal) =>
    client.get<DatasetQualityRun[]>(`/api/catalog/datasets/${id}/quality/`, { signal }),
  lineage: (id: number, query: { direction: Direction; depth?: number; column?: string }, signal?: AbortSignal) =>
    client.get<LineageGraph>(`/api/lineage/datasets/${id}/`, { query: { ...query }, signal }),
  impact: (id: number, column: string, signal?: AbortSignal) =>
    client.get<Impact>(`/api/lineage/datasets/${id}/impact/`, { query: { column }, signal }),
  runLineage: (runId: number, signal?: AbortSignal) =>
    client.get<LineageRecord>(`/api/runs/${runId}/lineage/`, { signal }),
  runQuality: (runId: number, signal?: AbortSignal) =>
    client.get<RunQualityNode[]>(`/api/runs/${runId}/quality/`, { signal }),
  runOpenLineage: (runId: number, signal?: AbortSignal) =>
    client.get<OpenLineageEventRecord[]>(`/api/runs/${runId}/openlineage/`, { signal }),
};
