import { api } from "../api/endpoints";
import type { Workspace, WorkspaceRole } from "../api/types";
import type {
  AuditPage,
  AuditQuery,
  Connection,
  ConnectionCreate,
  ConnectionKind,
  ConnectionUpdate,
  Member,
  UserAccount,
  Webhook,
  WebhookCreate,
  WebhookUpdate,
} from "./types";

const client = api.client;

/** One typed function per access, connections, webhooks and audit endpoint in docs/api.md. */
export const adminApi = {
  workspaces: {
    get: (id: number, signal?: AbortSignal) => client.get<Workspace>(`/api/workspaces/${id}/`, { signal }),
    create: (slug: string, name: string) => client.post<Workspace>("/api/workspaces/", { slug, name }),
  },
  members: {
    list: (workspaceId: number, signal?: AbortSignal) =>
      client.get<Member[]>(`/api/workspaces/${workspaceId}/members/`, { signal }),
    add: (workspaceId: number, username: string, role: WorkspaceRole) =>
      client.post<Member>(`/api/workspaces/${workspaceId}/members/`, { username, role }),
    update: (workspaceId: number, userId: number, changes: { role?: WorkspaceRole; can_view_pii?: boolean }) =>
      client.patch<Member>(`/api/workspaces/${workspaceId}/members/${userId}/`, changes),
    remove: (workspaceId: number, userId: number) =>
      client.delete<null>(`/api/workspaces/${workspaceId}/members/${userId}/`),
  },
  users: {
    list: (q: string, signal?: AbortSignal) => client.get<UserAccount[]>("/api/users/", { query: { q }, signal }),
    create: (username: string, password: string, isSuperuser: boolean) =>
      client.post<UserAccount>("/api/users/", { username, password, is_superuser: isSuperuser }),
  },
  connections: {
    kinds: (signal?: AbortSignal) => client.get<ConnectionKind[]>("/api/connections/kinds/", { signal }),
    list: (workspace: string, signal?: AbortSignal) =>
      client.get<Connection[]>("/api/connections/", { query: { workspace }, signal }),
    create: (body: ConnectionCreate) => client.post<Connection>("/api/connections/", body),
    update: (id: number, body: ConnectionUpdate) => client.patch<Connection>(`/api/connections/${id}/`, body),
    remove: (id: number) => client.delete<null>(`/api/connections/${id}/`),
  },
  webhooks: {
    /** The alert webhooks of every workspace the user belongs to. */
    list: (signal?: AbortSignal) => client.get<Webhook[]>("/api/webhooks/", { signal }),
    create: (body: WebhookCreate) => client.post<Webhook>("/api/webhooks/", body),
    update: (id: number, body: WebhookUpdate) => client.patch<Webhook>(`/api/webhooks/${id}/`, body),
    remove: (id: number) => client.delete<null>(`/api/webhooks/${id}/`),
  },
  audit: {
    list: (query: AuditQuery, signal?: AbortSignal) =>
      client.get<AuditPage>("/api/audit/", { query: { ...query }, signal }),
  },
};
