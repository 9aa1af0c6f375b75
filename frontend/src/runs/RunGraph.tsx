import { BaseEdge, EdgeLabelRenderer, ReactFlow, ReactFlowProvider, getBezierPath } from "@xyflow/react";
import type { EdgeProps, EdgeTypes, NodeProps, NodeTypes } from "@xyflow/react";
import { memo, useMemo } from "react";
import type { RunNode } from "../api/types";
import { NodeBody } from "../editor/canvas/NodeBody";
import type { PipelineDocument } from "../editor/model/document";
import { formatCount } from "../ui/format";
import { ROWS_EDGE, RUN_NODE, runFlow } from "./runGraph";
import type { RunFlowEdge, RunFlowNode } from "./runGraph";
import { NodeStatusBadge } from "./RunStatusBadge";

function rowsText(rows: number): string {
  return `${formatCount(rows)} row${rows === 1 ? "" : "s"}`;
}

const RunGraphNode = memo(function RunGraphNode({ id, data }: NodeProps<RunFlowNode>) {
  return (
    <NodeBody id={id} data={data} selected={false} errorCount={0} warningCount={0} className={`run-node node-status-${data.status}`}>
      <div className="run-node-status" data-testid={`run-node-${id}`} data-status={data.status}>
        <NodeStatusBadge status={data.status} />
        {data.batches > 0 && <span>{data.batches} batches</span>}
        {data.lag !== null && <span title="records behind">lag {formatCount(data.lag)}</span>}
      </div>
      {(data.rowsIn !== null || data.rowsOut !== null) && (
        <div className="run-node-rows">
          {data.rowsIn !== null && <span>in {formatCount(data.rowsIn)}</span>}
          {data.rowsOut !== null && <span>out {formatCount(data.rowsOut)}</span>}
        </div>
      )}
    </NodeBody>
  );
});

const RowsEdge = memo(function RowsEdge(props: EdgeProps<RunFlowEdge>) {
  const { source, target, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, markerEnd, style, data } = props;
  const [path, labelX, labelY] = getBezierPath({ sourceX, sourceY, sourcePosition, targetX, targetY, targetPosition });
  const rows = data?.rows ?? null;
  return (
    <>
      <BaseEdge path={path} markerEnd={markerEnd} style={style} />
      <EdgeLabelRenderer>
        <div
          className={rows === null ? "edge-rows edge-rows-unknown" : "edge-rows"}
          data-testid={`edge-rows-${source}-${target}`}
          data-rows={rows ?? ""}
          style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
        >
          {rows === null ? "…" : rowsText(rows)}
        </div>
      </EdgeLabelRenderer>
    </>
  );
});

/** Renderers for the run graph; at module scope as React Flow requires. */
const nodeTypes: NodeTypes = { [RUN_NODE]: RunGraphNode };
const edgeTypes: EdgeTypes = { [ROWS_EDGE]: RowsEdge };
const FIT_VIEW_OPTIONS = { maxZoom: 1, padding: 0.15 };

/** The run's pipeline, read-only: each node with its live status and rows, each edge with the rows through it. */
export function RunGraph({ document, nodes }: { document: PipelineDocument; nodes: RunNode[] }) {
  const graph = useMemo(() => runFlow(document, nodes), [document, nodes]);
  return (
    <div className="run-graph" data-testid="run-graph">
      <ReactFlowProvider>
        <ReactFlow<RunFlowNode, RunFlowEdge>
          nodes={graph.nodes}
          edges={graph.edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          deleteKeyCode={null}
          fitView
          fitViewOptions={FIT_VIEW_OPTIONS}
          minZoom={0.2}
          maxZoom={1.5}
        />
      </ReactFlowProvider>
    </div>
  );
}
