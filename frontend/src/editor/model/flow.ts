import type { Edge, Node } from "@xyflow/react";
import type { JsonObject } from "../../api/types";
import { inputPorts, outputPorts } from "./catalog";
import type { DocumentEdge, DocumentMeta, DocumentNode, PipelineDocument, Position } from "./document";
import { FORMAT } from "./document";

/** What a React Flow node carries; the document node's id is the React Flow node id. */
export type PipelineNodeData = {
  nodeType: string;
  label: string;
  config: JsonObject;
};

export const PIPELINE_NODE = "pipeline";

export type PipelineFlowNode = Node<PipelineNodeData, typeof PIPELINE_NODE>;
export type PipelineFlowEdge = Edge;

/** A drawn connection (React Flow's `Connection`, or an `Edge` being reconnected). */
export interface ConnectionLike {
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

export interface FlowGraph {
  meta: DocumentMeta;
  nodes: PipelineFlowNode[];
  edges: PipelineFlowEdge[];
}

export function edgeId(edge: DocumentEdge): string {
  return `${edge.from.node}.${edge.from.port}->${edge.to.node}.${edge.to.port}`;
}

export function toFlowEdge(edge: DocumentEdge): PipelineFlowEdge {
  return {
    id: edgeId(edge),
    source: edge.from.node,
    sourceHandle: edge.from.port,
    target: edge.to.node,
    targetHandle: edge.to.port,
  };
}

export function toDocumentEdge(edge: PipelineFlowEdge): DocumentEdge {
  return {
    from: { node: edge.source, port: edge.sourceHandle ?? "out" },
    to: { node: edge.target, port: edge.targetHandle ?? "in" },
  };
}

const LAYOUT_X = 80;
const LAYOUT_Y = 80;
const LAYOUT_COLUMN = 260;
const LAYOUT_ROW = 130;

/** Positions for nodes the document gives none: one column per depth from the sources. */
export function layoutPositions(nodes: DocumentNode[], edges: DocumentEdge[]): Map<string, Position> {
  const depth = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < nodes.length; pass += 1) {
    let changed = false;
    for (const edge of edges) {
      const from = depth.get(edge.from.node);
      const to = depth.get(edge.to.node);
      if (from === undefined || to === undefined || to >= from + 1) continue;
      depth.set(edge.to.node, from + 1);
      changed = true;
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  const positions = new Map<string, Position>();
  for (const node of nodes) {
    const column = depth.get(node.id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    positions.set(node.id, { x: LAYOUT_X + column * LAYOUT_COLUMN, y: LAYOUT_Y + row * LAYOUT_ROW });
  }
  return positions;
}

export function toFlowNode(node: DocumentNode, position: Position): PipelineFlowNode {
  return {
    id: node.id,
    type: PIPELINE_NODE,
    position: { x: position.x, y: position.y },
    data: { nodeType: node.type, label: node.label ?? "", config: node.config },
  };
}

export function documentToFlow(document: PipelineDocument): FlowGraph {
  const layout = layoutPositions(document.nodes, document.edges);
  return {
    meta: {
      name: document.name,
      description: document.description ?? "",
      mode: document.mode,
      parameters: document.parameters.map((p) => ({ ...p })),
    },
    nodes: document.nodes.map((node) =>
      toFlowNode(node, node.position ?? layout.get(node.id) ?? { x: LAYOUT_X, y: LAYOUT_Y }),
    ),
    edges: document.edges.map(toFlowEdge),
  };
}

export function flowToDocument(graph: FlowGraph): PipelineDocument {
  const { meta } = graph;
  const document: PipelineDocument = {
    format: FORMAT,
    name: meta.name,
    mode: meta.mode,
    parameters: meta.parameters.map((p) => ({ name: p.name, type: p.type, default: p.default })),
    nodes: graph.nodes.map((node) => {
      const out: DocumentNode = { id: node.id, type: node.data.nodeType, config: node.data.config };
      const label = node.data.label.trim();
      if (label) out.label = node.data.label;
      out.position = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
      return out;
    }),
    edges: graph.edges.map(toDocumentEdge),
  };
  const description = meta.description.trim();
  if (description) document.description = meta.description;
  return document;
}

/** Renames a node and every edge end that refers to it. */
export function renameInGraph(
  nodes: PipelineFlowNode[],
  edges: PipelineFlowEdge[],
  oldId: string,
  newId: string,
): { nodes: PipelineFlowNode[]; edges: PipelineFlowEdge[] } {
  return {
    nodes: nodes.map((node) => (node.id === oldId ? { ...node, id: newId } : node)),
    edges: edges.map((edge) => {
      if (edge.source !== oldId && edge.target !== oldId) return edge;
      const { from, to } = toDocumentEdge(edge);
      return toFlowEdge({
        from: { node: from.node === oldId ? newId : from.node, port: from.port },
        to: { node: to.node === oldId ? newId : to.node, port: to.port },
      });
    }),
  };
}

function reaches(edges: PipelineFlowEdge[], start: string, goal: string): boolean {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === undefined || seen.has(current)) continue;
    if (current === goal) return true;
    seen.add(current);
    for (const edge of edges) if (edge.source === current) stack.push(edge.target);
  }
  return false;
}

/** Why a connection may not be drawn, or null when it may. */
export function connectionProblem(
  connection: ConnectionLike,
  nodes: PipelineFlowNode[],
  edges: PipelineFlowEdge[],
): string | null {
  const source = nodes.find((n) => n.id === connection.source);
  const target = nodes.find((n) => n.id === connection.target);
  if (!source || !target) return "Both ends must be nodes.";
  if (source.id === target.id) return "A node cannot feed itself.";
  const out = connection.sourceHandle ?? "out";
  const into = connection.targetHandle ?? "in";
  if (!outputPorts(source.data.nodeType).some((p) => p.name === out)) {
    return `${source.id} has no output port "${out}".`;
  }
  if (!inputPorts(target.data.nodeType).some((p) => p.name === into)) {
    return `${target.id} has no input port "${into}".`;
  }
  const duplicate = edges.some(
    (e) => e.source === source.id && (e.sourceHandle ?? "out") === out && e.target === target.id && (e.targetHandle ?? "in") === into,
  );
  if (duplicate) return "These ports are already connected.";
  if (reaches(edges, target.id, source.id)) return "This connection would make a cycle.";
  return null;
}

/**
 * Adds the edge for a connection. A single-input port holds one edge, so connecting to it replaces
 * the edge that was there; ports that accept several edges (union, sql) keep them all.
 */
export function addConnection(
  connection: ConnectionLike,
  nodes: PipelineFlowNode[],
  edges: PipelineFlowEdge[],
): PipelineFlowEdge[] {
  if (connectionProblem(connection, nodes, edges)) return edges;
  const into = connection.targetHandle ?? "in";
  const target = nodes.find((n) => n.id === connection.target);
  const port = target ? inputPorts(target.data.nodeType).find((p) => p.name === into) : undefined;
  const kept = port?.multiple
    ? edges
    : edges.filter((e) => !(e.target === connection.target && (e.targetHandle ?? "in") === into));
  const edge = toFlowEdge({
    from: { node: connection.source, port: connection.sourceHandle ?? "out" },
    to: { node: connection.target, port: into },
  });
  return [...kept, edge];
}
