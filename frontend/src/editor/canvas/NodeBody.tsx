import { Handle, Position } from "@xyflow/react";
import type { CSSProperties, ReactNode } from "react";
import { nodeSpec } from "../model/catalog";
import type { PortSpec } from "../model/catalog";
import type { PipelineNodeData } from "../model/flow";

const FALLBACK_INPUTS: PortSpec[] = [{ name: "in", multiple: false }];
const FALLBACK_OUTPUTS: PortSpec[] = [{ name: "out", multiple: false }];

function handleStyle(index: number, count: number): CSSProperties {
  return { top: `${((index + 1) / (count + 1)) * 100}%` };
}

interface Props {
  id: string;
  data: PipelineNodeData;
  selected: boolean;
  errorCount: number;
  warningCount: number;
  testId?: string;
  /** Extra classes (the run page adds the node's status). */
  className?: string;
  /** Shown under the title (the run page shows the node's status and rows). */
  children?: ReactNode;
}

/** What a pipeline node looks like: title, id, ports as handles (handle id = port name), problem badge. */
export function NodeBody({ id, data, selected, errorCount, warningCount, testId, className, children }: Props) {
  const spec = nodeSpec(data.nodeType);
  const inputs = spec ? spec.inputs : FALLBACK_INPUTS;
  const outputs = spec ? spec.outputs : FALLBACK_OUTPUTS;
  const category = spec?.category ?? "unknown";
  const classes = ["pipeline-node", `category-${category}`];
  if (selected) classes.push("selected");
  if (errorCount > 0) classes.push("has-errors");
  if (className) classes.push(className);

  return (
    <div className={classes.join(" ")} data-testid={testId} data-node-type={data.nodeType}>
      {inputs.map((port, index) => (
        <Handle
          key={`in-${port.name}`}
          type="target"
          position={Position.Left}
          id={port.name}
          style={handleStyle(index, inputs.length)}
          title={`input ${port.name}`}
        />
      ))}
      <div className="pipeline-node-head">
        <span className="pipeline-node-kind">{spec ? `${spec.category} · ${spec.title}` : data.nodeType}</span>
        {errorCount > 0 && (
          <span className="node-badge" data-testid="node-error-count" title={`${errorCount} error(s)`}>
            {errorCount}
          </span>
        )}
        {errorCount === 0 && warningCount > 0 && (
          <span className="node-badge node-badge-warning" title={`${warningCount} warning(s)`}>
            {warningCount}
          </span>
        )}
      </div>
      <div className="pipeline-node-title">{data.label || id}</div>
      {data.label && <div className="pipeline-node-id">{id}</div>}
      {(inputs.length > 1 || outputs.length > 1) && (
        <div className="pipeline-node-ports">
          <span>{inputs.length > 1 && inputs.map((p) => p.name).join(" / ")}</span>
          <span>{outputs.length > 1 && outputs.map((p) => p.name).join(" / ")}</span>
        </div>
      )}
      {children}
      {outputs.map((port, index) => (
        <Handle
          key={`out-${port.name}`}
          type="source"
          position={Position.Right}
          id={port.name}
          style={handleStyle(index, outputs.length)}
          title={`output ${port.name}`}
        />
      ))}
    </div>
  );
}
