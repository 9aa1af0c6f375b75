import { describe, expect, it } from "vitest";
import { NO_FILTERS, auditQuery, changeLines } from "./AuditPanel";

describe("audit changes", () => {
  it("lists only the fields that changed", () => {
    expect(changeLines({ role: "viewer", user: "vera" }, { role: "editor", user: "vera" })).toEqual([
      'role: "viewer" → "editor"',
    ]);
  });

  it("shows every field of a creation or a deletion", () => {
    expect(changeLines(null, { name: "p", description: "" })).toEqual(['name: "p"', 'description: ""']);
    expect(changeLines({ user: "vera", role: "operator" }, null)).toEqual(['user: "vera"', 'role: "operator"']);
  });
});

describe("audit query", () => {
  const filters = { ...NO_FILTERS, workspace: "other", action: "permission" as const };

  it("is bound to the workspace of a workspace's log, whatever the filters say", () => {
    expect(auditQuery(filters, "demo")).toEqual({ workspace: "demo", action: "permission", limit: 50 });
  });

  it("is instance-wide for a superuser, with the workspace as one more filter", () => {
    expect(auditQuery({ ...NO_FILTERS, actor: "ada" }, null, 41)).toEqual({ actor: "ada", limit: 50, before: 41 });
    expect(auditQuery(filters, null)).toMatchObject({ workspace: "other" });
  });
});
