import { Background, Controls, MiniMap, ReactFlow, useReactFlow } from "@xyflow/react";
import type { IsValidConnection } from "@xyflow/react";
import { useCallback, useState } from "react";
import type { DragEvent } from "react";
import { isNodeType } from "../model/catalog";
import { connectionProblem } from "../model/flow";
import type { PipelineFlowEdge, PipelineFlowNode } from "../model/flow";
import { useEditorStore } from "../store";
import { NODE_DRAG_TYPE } from "./dnd";
import { nodeTypes } from "./PipelineNode";

const DELETE_KEYS = ["Delete", "Backspace"];
const FIT_VIEW_OPTIONS = { maxZoom: 1, padding: 0.2 };
const EDGE_OPTIONS = { interactionWidth: 16 };

/** `readOnly`: nodes can be selected (to read their settings) but not moved, connected or deleted. */
export function Canvas({ readOnly = false }: { readOnly?: boolean }) {
  const nodes = useEditorStore((s) => s.nodes);
  const edges = useEditorStore((s) => s.edges);
  const onNodesChange = useEditorStore((s) => s.onNodesChange);
  const onEdgesChange = useEditorStore((s) => s.onEdgesChange);
  const onConnect = useEditorStore((s) => s.onConnect);
  const addNode = useEditorStore((s) => s.addNode);
  const { screenToFlowPosition } = useReactFlow();
  // Fit a loaded graph once; an empty canvas keeps its viewport so the first drop does not jump.
  const [fitOnMount] = useState(() => nodes.length > 0);

  const isValidConnection: IsValidConnection<PipelineFlowEdge> = useCallback((connection) => {
    const state = useEditorStore.getState();
    return connectionProblem(connection, state.nodes, state.edges) === null;
  }, []);

  const onDragOver = useCallback((event: DragEvent) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      event.preventDefault();
      const type = event.dataTransfer.getData(NODE_DRAG_TYPE) || event.dataTransfer.getData("text/plain");
      if (readOnly || !isNodeType(type)) return;
      addNode(type, screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    },
    [addNode, screenToFlowPosition, readOnly],
  );

  return (
    <div className="canvas" data-testid="canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<PipelineFlowNode, PipelineFlowEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        deleteKeyCode={readOnly ? null : DELETE_KEYS}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        fitView={fitOnMount}
        fitViewOptions={FIT_VIEW_OPTIONS}
        minZoom={0.2}
        maxZoom={2}
        defaultEdgeOptions={EDGE_OPTIONS}
      >
        <Background gap={16} />
        <Controls />
        <MiniMap pannable zoomable />
      </ReactFlow>
      {nodes.length === 0 && (
        <p className="canvas-hint">Drag a source from the palette to start, then connect it to transforms and a sink.</p>
      )}
    </div>
  );
}
