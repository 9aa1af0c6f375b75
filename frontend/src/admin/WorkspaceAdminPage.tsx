import { useEffect, useState } from "react";
import { Link, NavLink, useParams } from "react-router";
import { ApiError } from "../api/client";
import { errorSentence, isAbort } from "../api/errors";
import type { Workspace } from "../api/types";
import { roleAllows } from "./access";
import { adminApi } from "./api";
import { AuditPanel } from "./AuditPanel";
import { ConnectionsPanel } from "./ConnectionsPanel";
import { MembersPanel } from "./MembersPanel";
import { WebhooksPanel } from "./WebhooksPanel";
import "./admin.css";

const TABS = [
  { path: "members", title: "Members" },
  { path: "connections", title: "Connections" },
  { path: "webhooks", title: "Alert webhooks" },
  { path: "audit", title: "Audit log" },
] as const;

/** One workspace's members, connections, alert webhooks and audit log (`/admin/workspaces/:id/:tab`). */
export function WorkspaceAdminPage() {
  const params = useParams();
  const id = Number(params["id"]);
  const tab = params["tab"] ?? "members";
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!Number.isInteger(id) || id <= 0) {
      setError("There is no workspace at this address.");
      return;
    }
    const controller = new AbortController();
    setWorkspace(null);
    setError(null);
    adminApi.workspaces.get(id, controller.signal).then(setWorkspace, (e: unknown) => {
      if (isAbort(e)) return;
      setError(
        e instanceof ApiError && e.status === 404
          ? "This workspace does not exist, or you are not a member of it."
          : errorSentence(e),
      );
    });
    return () => controller.abort();
  }, [id]);

  if (error) {
    return (
      <div className="page-message" role="alert">
        <p>{error}</p>
        <Link to="/admin">Back to workspaces</Link>
      </div>
    );
  }
  if (!workspace) return <p className="page-message">Loading the workspace…</p>;
  const isAdmin = roleAllows(workspace.role, "admin");
  return (
    <main className="page">
      <div className="page-header">
        <h1>
          {workspace.name} <span className="muted">({workspace.slug})</span>
        </h1>
        <span className="muted" data-testid="my-role">
          Your role: {workspace.role}
        </span>
      </div>
      <nav className="admin-tabs" aria-label="Workspace administration">
        {TABS.filter((t) => t.path !== "audit" || isAdmin).map((t) => (
          <NavLink key={t.path} to={`/admin/workspaces/${workspace.id}/${t.path}`} data-testid={`tab-${t.path}`}>
            {t.title}
          </NavLink>
        ))}
      </nav>
      {tab === "members" && <MembersPanel workspace={workspace} />}
      {tab === "connections" && <ConnectionsPanel workspace={workspace} />}
      {tab === "webhooks" && <WebhooksPanel workspace={workspace} />}
      {tab === "audit" && <AuditPanel workspace={workspace} />}
      {!TABS.some((t) => t.path === tab) && <p className="page-message">There is no page at this address.</p>}
    </main>
  );
}
