import { selectSelectedNode, useEditorStore } from "../store";
import { NodePanel } from "./NodePanel";
import { PipelineSettings } from "./PipelineSettings";

/** The selected node's panel, or the pipeline's settings when nothing is selected. */
export function SidePanel() {
  const selected = useEditorStore(selectSelectedNode);
  return selected ? <NodePanel key={selected.id} node={selected} /> : <PipelineSettings />;
}
