import { ApiClient } from "./client";
import type {
  CompileResult,
  Deployment,
  DeploymentCreate,
  DeploymentUpgrade,
  DeploymentUpgradeResult,
  Engine,
  FileList,
  InferSchemaRequest,
  InferredSchema,
  JsonObject,
  LogPage,
  Me,
  ParameterValues,
  Pipeline,
  PipelineCreate,
  PipelineDetail,
  AlertPage,
  Run,
  RunDetail,
  RunPolicy,
  Schedule,
  ScheduleCreate,
  StreamBatch,
  ValidationResult,
  Version,
  VersionDetail,
  VersionSaved,
  Workspace,
} from "./types";

export interface SaveVersionRequest {
  document: JsonObject;
  base_version: number | null;
  message?: string;
}

export interface StartRunRequest {
  version?: number;
  engine?: Engine;
  parameters?: ParameterValues;
}

export interface ValidateRequest {
  document: JsonObject;
  engine?: Engine;
  parameters?: ParameterValues;
}

/** One typed function per endpoint in docs/api.md. */
export function createApi(client: ApiClient) {
  return {
    client,
    auth: {
      csrf: () => client.ensureCsrf(true),
      me: (signal?: AbortSignal) => client.get<Me>("/api/auth/me/", { signal }),
      login: (username: string, password: string) =>
        client.post<Me>("/api/auth/login/", { username, password }),
      logout: () => client.post<null>("/api/auth/logout/"),
    },
    workspaces: {
      list: () => client.get<Workspace[]>("/api/workspaces/"),
    },
    pipelines: {
      list: (workspace?: string, signal?: AbortSignal) =>
        client.get<Pipeline[]>("/api/pipelines/", { query: { workspace }, signal }),
      create: (body: PipelineCreate) => client.post<PipelineDetail>("/api/pipelines/", body),
      get: (id: number, signal?: AbortSignal) =>
        client.get<PipelineDetail>(`/api/pipelines/${id}/`, { signal }),
      update: (id: number, body: { name?: string; description?: string } & Partial<RunPolicy>) =>
        client.patch<PipelineDetail>(`/api/pipelines/${id}/`, body),
      remove: (id: number) => client.delete<null>(`/api/pipelines/${id}/`),
    },
    versions: {
      list: (pipelineId: number, signal?: AbortSignal) =>
        client.get<Version[]>(`/api/pipelines/${pipelineId}/versions/`, { signal }),
      get: (pipelineId: number, number: number, signal?: AbortSignal) =>
        client.get<VersionDetail>(`/api/pipelines/${pipelineId}/versions/${number}/`, { signal }),
      save: (pipelineId: number, body: SaveVersionRequest) =>
        client.post<VersionSaved>(`/api/pipelines/${pipelineId}/versions/`, body),
    },
    validate: (body: ValidateRequest, signal?: AbortSignal) =>
      client.post<ValidationResult>("/api/validate/", body, { signal }),
    compile: (body: ValidateRequest & { engine: Engine }) =>
      client.post<CompileResult>("/api/compile/", body),
    files: {
      list: (prefix?: string, signal?: AbortSignal) =>
        client.get<FileList>("/api/files/", { query: { prefix }, signal }),
      inferSchema: (body: InferSchemaRequest) => client.post<InferredSchema>("/api/files/schema/", body),
    },
    runs: {
      start: (pipelineId: number, body: StartRunRequest) =>
        client.post<RunDetail>(`/api/pipelines/${pipelineId}/runs/`, body),
      /** The pipeline's run history, newest first, with durations. */
      history: (pipelineId: number, limit?: number, signal?: AbortSignal) =>
        client.get<Run[]>(`/api/pipelines/${pipelineId}/runs/`, { query: { limit }, signal }),
      get: (runId: number, signal?: AbortSignal) => client.get<RunDetail>(`/api/runs/${runId}/`, { signal }),
      /** A stream's micro-batches, oldest first: throughput and lag. */
      progress: (runId: number, limit?: number, signal?: AbortSignal) =>
        client.get<StreamBatch[]>(`/api/runs/${runId}/progress/`, { query: { limit }, signal }),
      alerts: (runId: number, after: number, limit?: number, signal?: AbortSignal) =>
        client.get<AlertPage>(`/api/runs/${runId}/alerts/`, { query: { after, limit }, signal }),
      log: (runId: number, after: number, limit?: number, signal?: AbortSignal) =>
        client.get<LogPage>(`/api/runs/${runId}/log/`, { query: { after, limit }, signal }),
      cancel: (runId: number) => client.post<RunDetail>(`/api/runs/${runId}/cancel/`),
    },
    deployments: {
      /** The pipeline's deployments, newest first. */
      list: (pipelineId: number, signal?: AbortSignal) =>
        client.get<Deployment[]>(`/api/pipelines/${pipelineId}/deployments/`, { signal }),
      create: (pipelineId: number, body: DeploymentCreate) =>
        client.post<Deployment>(`/api/pipelines/${pipelineId}/deployments/`, body),
      get: (id: number, signal?: AbortSignal) => client.get<Deployment>(`/api/deployments/${id}/`, { signal }),
      stop: (id: number) => client.post<Deployment>(`/api/deployments/${id}/stop/`),
      start: (id: number) => client.post<Deployment>(`/api/deployments/${id}/start/`),
      upgrade: (id: number, body: DeploymentUpgrade) =>
        client.post<DeploymentUpgradeResult>(`/api/deployments/${id}/upgrade/`, body),
      /** Its runs' micro-batches, oldest first: throughput and lag over time. */
      progress: (id: number, limit?: number, signal?: AbortSignal) =>
        client.get<StreamBatch[]>(`/api/deployments/${id}/progress/`, { query: { limit }, signal }),
      remove: (id: number) => client.delete<null>(`/api/deployments/${id}/`),
    },
    schedules: {
      list: (pipelineId: number, signal?: AbortSignal) =>
        client.get<Schedule[]>(`/api/pipelines/${pipelineId}/schedules/`, { signal }),
      create: (pipelineId: number, body: ScheduleCreate) =>
        client.post<Schedule>(`/api/pipelines/${pipelineId}/schedules/`, body),
      update: (scheduleId: number, body: Partial<ScheduleCreate>) =>
        client.patch<Schedule>(`/api/schedules/${scheduleId}/`, body),
      remove: (scheduleId: number) => client.delete<null>(`/api/schedules/${scheduleId}/`),
    },
  };
}

export type Api = ReturnType<typeof createApi>;

export const api: Api = createApi(new ApiClient());
