import type { Me, WorkspaceRole } from "../api/types";

/** Roles in a workspace, least first; each may do what the ones before it may. */
export const ROLES: readonly WorkspaceRole[] = ["viewer", "editor", "operator", "admin"];

export type Action = "view" | "change" | "run" | "admin";

const LEAST_ROLE: Record<Action, WorkspaceRole> = { view: "viewer", change: "editor", run: "operator", admin: "admin" };

export const ROLE_HELP: Record<WorkspaceRole, string> = {
  viewer: "reads pipelines, runs and the catalog",
  editor: "also designs and saves pipelines",
  operator: "also runs, schedules, cancels and deploys",
  admin: "also manages members, connections and settings",
};

export function roleAllows(role: WorkspaceRole | null | undefined, action: Action): boolean {
  return role !== null && role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(LEAST_ROLE[action]);
}

/** The user's role in a workspace (by slug); a superuser is admin everywhere (the API says so too). */
export function roleIn(me: Me, workspace: string): WorkspaceRole | null {
  return me.workspaces.find((w) => w.slug === workspace)?.role ?? null;
}

export function can(me: Me, workspace: string, action: Action): boolean {
  return roleAllows(roleIn(me, workspace), action);
}
