import { describe, expect, it } from "vitest";
import { changeLines } from "./AuditPanel";

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
