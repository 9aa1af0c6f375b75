/** Place a lineage graph for @xyflow/react: one column per depth (upstream left, downstream right),
 * datasets stacked and centred in their column, one edge per pipeline between two datasets. */
import type { Edge, Node } from "@xyflow/react";
import type { EdgeColumn, GraphDataset, LineageGraph } from "../catalog/api";

export const COLUMN_WIDTH = 340;
export const ROW_HEIGHT = 120;

export type DatasetNodeData = {
  dataset: GraphDataset;
  root: boolean;
  /** Column mode: the dataset's columns on the trace; null stands for "its rows". */
  columns: (string | null)[];
};

export type DatasetFlowNode = Node<DatasetNodeData, "dataset">;

export type PipelineEdgeData = { pipelineId: number; pipeline: string; columns: EdgeColumn[] };

export type PipelineFlowEdge = Edge<PipelineEdgeData>;

export function nodeId(dataset: number): string {
  return `dataset-${dataset}`;
}

export function layoutGraph(graph: LineageGraph): { nodes: DatasetFlowNode[]; edges: PipelineFlowEdge[] } {
  const byDepth = new Map<number, GraphDataset[]>();
  for (const dataset of graph.datasets) {
    const list = byDepth.get(dataset.depth) ?? [];
    list.push(dataset);
    byDepth.set(dataset.depth, list);
  }
  const traced = new Map<number, (string | null)[]>();
  for (const column of graph.columns) {
    const list = traced.get(column.dataset) ?? [];
    list.push(column.column);
    traced.set(column.dataset, list);
  }
  const nodes: DatasetFlowNode[] = [];
  for (const [depth, datasets] of byDepth) {
    const sorted = [...datasets].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
    sorted.forEach((dataset, index) => {
      nodes.push({
        id: nodeId(dataset.id),
        type: "dataset",
        position: { x: depth * COLUMN_WIDTH, y: (index - (sorted.length - 1) / 2) * ROW_HEIGHT },
        data: { dataset, root: dataset.id === graph.root.dataset, columns: traced.get(dataset.id) ?? [] },
      });
    });
  }
  const pipelineName = new Map(graph.pipelines.map((p) => [p.id, p.name]));
  const edges: PipelineFlowEdge[] = graph.edges.map((edge) => {
    const name = pipelineName.get(edge.pipeline) ?? `pipeline ${edge.pipeline}`;
    return {
      id: `edge-${edge.source}-${edge.target}-${edge.pipeline}`,
      source: nodeId(edge.source),
      target: nodeId(edge.target),
      label: name,
      data: { pipelineId: edge.pipeline, pipeline: name, columns: edge.columns },
    };
  });
  return { nodes, edges };
}

/** How a target column is made, in words, for an edge's tooltip and the side panel. */
export function describeColumn(column: EdgeColumn): string {
  if (column.target_column === null) {
    return column.how === "join_key" ? `${column.source_column} joins the rows` : `${column.source_column} filters the rows`;
  }
  const verb: Record<string, string> = {
    identity: "copied from",
    join_key: "join key from",
    expression: "computed from",
    aggregation: "aggregated from",
    read: "read from",
    filter: "filtered by",
  };
  return `${column.target_column} ← ${verb[column.how] ?? column.how} ${column.source_column}`;
}
