import { describe, expect, it } from "vitest";
import { draftOf, emptyDraft, fieldChanges } from "./connectionForm";
import type { Connection, ConnectionKind } from "./types";

const KAFKA: ConnectionKind = {
  kind: "kafka",
  label: "Kafka",
  description: "",
  fields: [
    { name: "bootstrap_servers", label: "Bootstrap servers", secret: false, required: true, type: "string", choices: [], default: null, help: "" },
    { name: "security_protocol", label: "Security protocol", secret: false, required: false, type: "string", choices: ["PLAINTEXT", "SASL_SSL"], default: "PLAINTEXT", help: "" },
    { name: "port", label: "Port", secret: false, required: false, type: "integer", choices: [], default: null, help: "" },
    { name: "sasl_password", label: "SASL password", secret: true, required: false, type: "string", choices: [], default: null, help: "" },
    { name: "ssl_key_password", label: "TLS key password", secret: true, required: false, type: "string", choices: [], default: null, help: "" },
  ],
};

const STORED: Connection = {
  id: 1,
  workspace: "team",
  name: "events",
  kind: "kafka",
  description: "",
  settings: { bootstrap_servers: "b:9092", security_protocol: "SASL_SSL", port: 9093 },
  secrets: { sasl_password: { set: true }, ssl_key_password: { set: false } },
  environment_variable: "STUDIO_CONNECTION_EVENTS",
  used_by: [],
  created_by: "ada",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  secrets_updated_at: null,
};

describe("connection form", () => {
  it("starts from the kind's defaults and sends only what is filled in on create", () => {
    const draft = emptyDraft(KAFKA);
    expect(draft.settings).toEqual({ bootstrap_servers: "", security_protocol: "PLAINTEXT", port: "" });
    draft.settings["bootstrap_servers"] = " b:9092 ";
    draft.settings["port"] = "9092";
    draft.secrets["sasl_password"] = "pw";
    expect(fieldChanges(KAFKA, draft, null)).toEqual({
      settings: { bootstrap_servers: "b:9092", security_protocol: "PLAINTEXT", port: 9092 },
      secrets: { sasl_password: "pw" },
    });
  });

  it("loads settings but never secrets, and sends only changes on update", () => {
    const draft = draftOf(STORED, KAFKA);
    expect(draft.secrets).toEqual({});
    expect(draft.settings["port"]).toBe("9093");
    expect(fieldChanges(KAFKA, draft, STORED)).toEqual({ settings: {}, secrets: {} });
    draft.settings["port"] = "";
    draft.settings["security_protocol"] = "PLAINTEXT";
    draft.clear["sasl_password"] = true;
    draft.clear["ssl_key_password"] = true; // not set: nothing to clear
    expect(fieldChanges(KAFKA, draft, STORED)).toEqual({
      settings: { port: null, security_protocol: "PLAINTEXT" },
      secrets: { sasl_password: null },
    });
  });

  it("a typed secret wins over clearing it", () => {
    const draft = draftOf(STORED, KAFKA);
    draft.clear["sasl_password"] = true;
    draft.secrets["sasl_password"] = "new";
    expect(fieldChanges(KAFKA, draft, STORED).secrets).toEqual({ sasl_password: "new" });
  });
});
