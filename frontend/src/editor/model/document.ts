import type { JsonObject, JsonValue } from "../../api/types";

/** The pipeline document the editor saves (PIPELINE_FORMAT.md, `studio.pipeline/v1`). */
export const FORMAT = "studio.pipeline/v1";

export type PipelineMode = "batch" | "streaming";

export const PARAMETER_TYPES = ["string", "int", "bigint", "double", "boolean", "date", "timestamp"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export interface PipelineParameter {
  name: string;
  type: ParameterType;
  default: string | number | boolean;
}

export interface Position {
  x: number;
  y: number;
}

export interface DocumentNode {
  id: string;
  type: string;
  label?: string;
  config: JsonObject;
  position?: Position;
}

export interface PortRef {
  node: string;
  port: string;
}

export interface DocumentEdge {
  from: PortRef;
  to: PortRef;
}

export interface PipelineDocument {
  format: typeof FORMAT;
  name: string;
  description?: string;
  mode: PipelineMode;
  parameters: PipelineParameter[];
  nodes: DocumentNode[];
  edges: DocumentEdge[];
}

/** Top-level settings the editor keeps next to the graph. */
export interface DocumentMeta {
  name: string;
  description: string;
  mode: PipelineMode;
  parameters: PipelineParameter[];
}

export function emptyDocument(name: string): PipelineDocument {
  return { format: FORMAT, name, mode: "batch", parameters: [], nodes: [], edges: [] };
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asString(value: JsonValue | undefined, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function isParameterType(value: JsonValue | undefined): value is ParameterType {
  return typeof value === "string" && (PARAMETER_TYPES as readonly string[]).includes(value);
}

function parsePosition(value: JsonValue | undefined): Position | undefined {
  if (!isJsonObject(value)) return undefined;
  const { x, y } = value;
  return typeof x === "number" && typeof y === "number" ? { x, y } : undefined;
}

function parsePortRef(value: JsonValue | undefined): PortRef | null {
  if (!isJsonObject(value)) return null;
  const { node, port } = value;
  return typeof node === "string" && typeof port === "string" ? { node, port } : null;
}

/**
 * Reads a stored document (which may be work in progress and invalid) into the editor's shape.
 * Malformed nodes and edges are dropped rather than crashing the editor; the server's validation
 * reports what is wrong with what remains.
 */
export function parseDocument(raw: JsonObject | null, fallbackName: string): PipelineDocument {
  if (!raw) return emptyDocument(fallbackName);
  const nodes: DocumentNode[] = [];
  for (const item of Array.isArray(raw["nodes"]) ? raw["nodes"] : []) {
    if (!isJsonObject(item) || typeof item["id"] !== "string" || typeof item["type"] !== "string") continue;
    const node: DocumentNode = {
      id: item["id"],
      type: item["type"],
      config: isJsonObject(item["config"]) ? item["config"] : {},
    };
    if (typeof item["label"] === "string") node.label = item["label"];
    const position = parsePosition(item["position"]);
    if (position) node.position = position;
    nodes.push(node);
  }
  const edges: DocumentEdge[] = [];
  for (const item of Array.isArray(raw["edges"]) ? raw["edges"] : []) {
    if (!isJsonObject(item)) continue;
    const from = parsePortRef(item["from"]);
    const to = parsePortRef(item["to"]);
    if (from && to) edges.push({ from, to });
  }
  const parameters: PipelineParameter[] = [];
  for (const item of Array.isArray(raw["parameters"]) ? raw["parameters"] : []) {
    if (!isJsonObject(item) || typeof item["name"] !== "string") continue;
    const value = item["default"];
    parameters.push({
      name: item["name"],
      type: isParameterType(item["type"]) ? item["type"] : "string",
      default: typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : "",
    });
  }
  const document: PipelineDocument = {
    format: FORMAT,
    name: asString(raw["name"], fallbackName),
    mode: raw["mode"] === "streaming" ? "streaming" : "batch",
    parameters,
    nodes,
    edges,
  };
  const description = asString(raw["description"]);
  if (description) document.description = description;
  return document;
}

/** The document as JSON for the API (key order follows PIPELINE_FORMAT.md). */
export function documentToJson(document: PipelineDocument): JsonObject {
  const json: JsonObject = { format: document.format, name: document.name };
  if (document.description) json["description"] = document.description;
  json["mode"] = document.mode;
  json["parameters"] = document.parameters.map((p) => ({ name: p.name, type: p.type, default: p.default }));
  json["nodes"] = document.nodes.map((node) => {
    const out: JsonObject = { id: node.id, type: node.type };
    if (node.label) out["label"] = node.label;
    out["config"] = node.config;
    if (node.position) out["position"] = { x: node.position.x, y: node.position.y };
    return out;
  });
  json["edges"] = document.edges.map((edge) => ({
    from: { node: edge.from.node, port: edge.from.port },
    to: { node: edge.to.node, port: edge.to.port },
  }));
  return json;
}
