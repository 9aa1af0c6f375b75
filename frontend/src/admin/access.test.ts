import { describe, expect, it } from "vitest";
import type { Me } from "../api/types";
import { can, roleAllows, roleIn } from "./access";

const ME: Me = {
  id: 1,
  username: "vera",
  is_superuser: false,
  workspaces: [
    { id: 1, slug: "team", name: "Team", role: "viewer" },
    { id: 2, slug: "ops", name: "Ops", role: "operator" },
  ],
};

describe("roles", () => {
  it("are cumulative", () => {
    expect(roleAllows("viewer", "view")).toBe(true);
    expect(roleAllows("viewer", "change")).toBe(false);
    expect(roleAllows("operator", "change")).toBe(true);
    expect(roleAllows("operator", "admin")).toBe(false);
    expect(roleAllows("admin", "run")).toBe(true);
    expect(roleAllows(null, "view")).toBe(false);
  });

  it("are per workspace", () => {
    expect(roleIn(ME, "team")).toBe("viewer");
    expect(can(ME, "team", "change")).toBe(false);
    expect(can(ME, "ops", "run")).toBe(true);
    expect(can(ME, "elsewhere", "view")).toBe(false);
  });
});
