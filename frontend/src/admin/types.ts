/** Wire types for the access, connections and audit sections of docs/api.md. */
import type { JsonObject, JsonPrimitive, Workspace, WorkspaceRole } from "../api/types";

export interface Member {
  user_id: number;
  username: string;
  role: WorkspaceRole;
  /** Sees the values of catalog columns classified as PII (masked otherwise). */
  can_view_pii: boolean;
}

export interface UserAccount {
  id: number;
  username: string;
  is_superuser: boolean;
}

export type ConnectionKindName = "kafka" | "s3" | "postgres" | "jdbc" | "webhook";

export interface KindField {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  type: "string" | "integer" | "url";
  choices: string[];
  default: JsonPrimitive;
  help: string;
}

export interface ConnectionKind {
  kind: ConnectionKindName;
  label: string;
  description: string;
  fields: KindField[];
}

export interface Connection {
  id: number;
  workspace: string;
  name: string;
  kind: ConnectionKindName;
  description: string;
  settings: Record<string, JsonPrimitive>;
  /** Every secret field of the kind, and whether a value is stored; values never come back. */
  secrets: Record<string, { set: boolean }>;
  environment_variable: string;
  used_by: string[];
  created_by: string | null;
  created_at: string;
  updated_at: string;
  secrets_updated_at: string | null;
}

/** A value sets a field; null removes it; absent fields stay as they are. */
export type FieldChanges = Record<string, JsonPrimitive>;

export interface ConnectionCreate {
  workspace: string;
  name: string;
  kind: ConnectionKindName;
  description?: string;
  settings: FieldChanges;
  secrets: FieldChanges;
}

export interface ConnectionUpdate {
  name?: string;
  description?: string;
  settings?: FieldChanges;
  secrets?: FieldChanges;
}

/** A workspace's (or one pipeline's) alerts sent to a webhook connection (format `studio.alert/v1`). */
export interface Webhook {
  id: number;
  workspace: string;
  /** Only this pipeline's alerts; every pipeline of the workspace when null. */
  pipeline: number | null;
  /** The webhook connection's name. */
  connection: string;
  /** The connection's URL, where the alerts go. */
  url: string;
  enabled: boolean;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookCreate {
  workspace: string;
  pipeline?: number | null;
  connection: string;
  enabled?: boolean;
}

export interface WebhookUpdate {
  connection?: string;
  enabled?: boolean;
}

export type AuditAction = "create" | "update" | "delete" | "run" | "cancel" | "permission";

export const AUDIT_ACTIONS: readonly AuditAction[] = ["create", "update", "delete", "run", "cancel", "permission"];

export interface AuditEvent {
  id: number;
  at: string;
  actor: string | null;
  action: AuditAction;
  object_type: string;
  object_id: string;
  object_repr: string;
  workspace: string | null;
  before: JsonObject | null;
  after: JsonObject | null;
}

export interface AuditPage {
  events: AuditEvent[];
  next: number | null;
}

export interface AuditQuery {
  workspace?: string;
  actor?: string;
  action?: AuditAction | "";
  object_type?: string;
  object_id?: string;
  since?: string;
  until?: string;
  before?: number;
  limit?: number;
}

export type { Workspace, WorkspaceRole };
