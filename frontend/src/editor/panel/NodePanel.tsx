import { useState } from "react";
import type { JsonObject, SchemaField } from "../../api/types";
import { DiagnosticList } from "../../ui/Messages";
import { ConfigForm } from "../forms/ConfigForm";
import { nodeSpec } from "../model/catalog";
import type { PipelineFlowNode } from "../model/flow";
import { useEditorStore } from "../store";

function NodeIdField({ id }: { id: string }) {
  const renameNode = useEditorStore((s) => s.renameNode);
  const [text, setText] = useState(id);
  const [problem, setProblem] = useState<string | null>(null);

  const commit = () => {
    const next = text.trim();
    const reason = renameNode(id, next);
    setProblem(reason);
    if (!reason) setText(next);
  };

  return (
    <label className="stacked-field">
      Id
      <input
        data-testid="node-id"
        className="mono"
        value={text}
        aria-invalid={problem ? true : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") {
            setText(id);
            setProblem(null);
          }
        }}
      />
      {problem && (
        <span className="field-error" role="alert" data-testid="node-id-error">
          {problem}
        </span>
      )}
    </label>
  );
}

function SchemaTable({ columns }: { columns: SchemaField[] }) {
  return (
    <table className="table compact">
      <thead>
        <tr>
          <th>Column</th>
          <th>Type</th>
          <th>Nullable</th>
        </tr>
      </thead>
      <tbody>
        {columns.map((column) => (
          <tr key={column.name}>
            <td>{column.name}</td>
            <td className="mono">{column.type}</td>
            <td>{column.nullable ? "yes" : "no"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Side panel for one node: label, id, config form, its diagnostics and output schema per port. */
export function NodePanel({ node }: { node: PipelineFlowNode }) {
  const updateLabel = useEditorStore((s) => s.updateLabel);
  const updateConfig = useEditorStore((s) => s.updateConfig);
  const diagnostics = useEditorStore((s) => s.diagnostics.byNode[node.id]);
  const schemas = useEditorStore((s) => s.diagnostics.schemas[node.id]);
  const spec = nodeSpec(node.data.nodeType);
  const problems = [...(diagnostics?.errors ?? []), ...(diagnostics?.warnings ?? [])];
  const ports = Object.entries(schemas ?? {});

  return (
    <section className="side-panel" data-testid="node-panel" aria-label={`Node ${node.id}`}>
      <header className="side-panel-head">
        <h2>{spec ? `${spec.title} ${spec.category}` : node.data.nodeType}</h2>
        <code className="muted small">{node.data.nodeType}</code>
      </header>
      <label className="stacked-field">
        Label
        <input
          data-testid="node-label"
          placeholder="A name for people"
          value={node.data.label}
          onChange={(e) => updateLabel(node.id, e.target.value)}
        />
      </label>
      <NodeIdField key={node.id} id={node.id} />

      <div className="subsection">
        <h3>Configuration</h3>
        <ConfigForm
          key={node.id}
          nodeId={node.id}
          nodeType={node.data.nodeType}
          config={node.data.config}
          onChange={(config: JsonObject) => updateConfig(node.id, config)}
        />
      </div>

      <div className="subsection">
        <h3>Problems</h3>
        <DiagnosticList diagnostics={problems} testId="node-errors" />
        {problems.length === 0 && <p className="muted small">No errors or warnings for this node.</p>}
      </div>

      <div className="subsection" data-testid="node-schema">
        <h3>Output schema</h3>
        {ports.length === 0 && (
          <p className="muted small">
            {spec && spec.outputs.length === 0
              ? "A sink has no output."
              : "Not known yet: the node or its inputs have errors."}
          </p>
        )}
        {ports.map(([port, columns]) => (
          <div key={port}>
            {ports.length > 1 && <h4 className="port-title">{port}</h4>}
            <SchemaTable columns={columns} />
          </div>
        ))}
      </div>
    </section>
  );
}
