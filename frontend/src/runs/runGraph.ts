import type { Edge, Node } from "@xyflow/react";
import type { NodeStatus, RunNode } from "../api/types";
import type { PipelineDocument } from "../editor/model/document";
import { documentToFlow } from "../editor/model/flow";
import type { PipelineNodeData } from "../editor/model/flow";

export const RUN_NODE = "run";
export const ROWS_EDGE = "rows";

export type RunFlowNodeData = PipelineNodeData & {
  status: NodeStatus;
  rowsIn: number | null;
  rowsOut: number | null;
  batches: number;
  /** A streaming source's lag after its newest micro-batch, where it reports one. */
  lag: number | null;
};

export type RunFlowEdgeData = {
  /** Rows that went through the edge (its upstream port's count); null until the job reports it. */
  rows: number | null;
};

export type RunFlowNode = Node<RunFlowNodeData, typeof RUN_NODE>;
export type RunFlowEdge = Edge<RunFlowEdgeData, typeof ROWS_EDGE>;

/** Rows the job reported on one output port of a node, or null. */
export function portRows(nodes: RunNode[], node: string, port: string): number | null {
  return nodes.find((n) => n.node === node)?.ports.find((p) => p.port === port)?.rows ?? null;
}

/** The run's version drawn as in the editor, each node with its status and rows, each edge with its rows. */
export function runFlow(document: PipelineDocument, runNodes: RunNode[]): { nodes: RunFlowNode[]; edges: RunFlowEdge[] } {
  const graph = documentToFlow(document);
  const byId = new Map(runNodes.map((n) => [n.node, n]));
  const nodes = graph.nodes.map((node): RunFlowNode => {
    const run = byId.get(node.id);
    return {
      ...node,
      type: RUN_NODE,
      draggable: false,
      selectable: false,
      data: {
        ...node.data,
        status: run?.status ?? "pending",
        rowsIn: run?.rows_in ?? null,
        rowsOut: run?.rows_out ?? null,
        batches: run?.batches ?? 0,
        lag: run?.lag ?? null,
      },
    };
  });
  const edges = graph.edges.map((edge): RunFlowEdge => {
    const rows = portRows(runNodes, edge.source, edge.sourceHandle ?? "out");
    return {
      ...edge,
      type: ROWS_EDGE,
      // Moving dashes while the upstream node is still working.
      animated: byId.get(edge.source)?.status === "running",
      data: { rows },
    };
  });
  return { nodes, edges };
}
