import type { Pipeline } from "../api/types";
import type { Connection, Webhook } from "./types";

/** The webhooks of one workspace (the API lists those of all the user's), oldest first. */
export function webhooksOf(webhooks: Webhook[], workspace: string): Webhook[] {
  return webhooks.filter((w) => w.workspace === workspace).sort((a, b) => a.id - b.id);
}

/** The connections a webhook can send to: those of kind webhook, by name. */
export function webhookConnections(connections: Connection[]): Connection[] {
  return connections.filter((c) => c.kind === "webhook").sort((a, b) => a.name.localeCompare(b.name));
}

/** Whose alerts a webhook sends: every pipeline's, or one pipeline's by name. */
export function scopeText(webhook: Webhook, pipelines: Pick<Pipeline, "id" | "name">[]): string {
  if (webhook.pipeline === null) return "every pipeline";
  const pipeline = pipelines.find((p) => p.id === webhook.pipeline);
  return pipeline ? pipeline.name : `pipeline #${webhook.pipeline}`;
}
