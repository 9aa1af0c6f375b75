import { describe, expect, it } from "vitest";
import type { Connection, Webhook } from "./types";
import { scopeText, webhookConnections, webhooksOf } from "./webhooks";

const webhook = (id: number, workspace: string, pipeline: number | null = null): Webhook => ({
  id,
  workspace,
  pipeline,
  connection: "ops_hook",
  url: "https://hooks.example/ops",
  enabled: true,
  created_by: "ada",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
});

const connection = (name: string, kind: Connection["kind"]): Connection => ({
  id: name.length,
  workspace: "team",
  name,
  kind,
  description: "",
  settings: {},
  secrets: {},
  environment_variable: `STUDIO_CONNECTION_${name.toUpperCase()}`,
  used_by: [],
  created_by: "ada",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  secrets_updated_at: null,
});

describe("alert webhooks", () => {
  it("shows one workspace's webhooks of all the user's", () => {
    expect(webhooksOf([webhook(5, "team"), webhook(2, "other"), webhook(3, "team")], "team").map((w) => w.id)).toEqual([3, 5]);
  });

  it("sends only to webhook connections", () => {
    const list = [connection("events", "kafka"), connection("pager", "webhook"), connection("chat", "webhook")];
    expect(webhookConnections(list).map((c) => c.name)).toEqual(["chat", "pager"]);
  });

  it("names whose alerts it sends", () => {
    const pipelines = [{ id: 7, name: "orders_cdc" }];
    expect(scopeText(webhook(1, "team"), pipelines)).toBe("every pipeline");
    expect(scopeText(webhook(1, "team", 7), pipelines)).toBe("orders_cdc");
    expect(scopeText(webhook(1, "team", 8), pipelines)).toBe("pipeline #8");
  });
});
