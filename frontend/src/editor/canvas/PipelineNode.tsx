import { memo } from "react";
import type { NodeProps, NodeTypes } from "@xyflow/react";
import { PIPELINE_NODE } from "../model/flow";
import type { PipelineFlowNode } from "../model/flow";
import { useEditorStore } from "../store";
import { NodeBody } from "./NodeBody";

const PipelineNode = memo(function PipelineNode({ id, data, selected }: NodeProps<PipelineFlowNode>) {
  const errorCount = useEditorStore((s) => s.diagnostics.errorCounts[id] ?? 0);
  const warningCount = useEditorStore((s) => s.diagnostics.byNode[id]?.warnings.length ?? 0);
  return (
    <NodeBody
      id={id}
      data={data}
      selected={selected}
      errorCount={errorCount}
      warningCount={warningCount}
      testId={`node-${id}`}
    />
  );
});

const PreviewNode = memo(function PreviewNode({ id, data, selected }: NodeProps<PipelineFlowNode>) {
  return <NodeBody id={id} data={data} selected={selected} errorCount={0} warningCount={0} />;
});

/** Node renderers for the editing canvas; defined once at module scope as React Flow requires. */
export const nodeTypes: NodeTypes = { [PIPELINE_NODE]: PipelineNode };

/** Node renderers for read-only previews (no live diagnostics, no test ids that clash with the canvas). */
export const previewNodeTypes: NodeTypes = { [PIPELINE_NODE]: PreviewNode };
