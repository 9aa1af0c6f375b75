import { useEffect, useState } from "react";
import { PARAMETER_TYPES } from "../model/document";
import { coerceDefault } from "../model/parameters";
import type { ParameterType, PipelineParameter } from "../model/document";
import { useEditorStore } from "../store";

function isParameterType(value: string): value is ParameterType {
  return (PARAMETER_TYPES as readonly string[]).includes(value);
}

function DefaultInput({ parameter, onChange, label }: { parameter: PipelineParameter; onChange: (value: string | number | boolean) => void; label: string }) {
  const [text, setText] = useState(String(parameter.default));
  useEffect(() => {
    setText((current) => (coerceDefault(parameter.type, current) === parameter.default ? current : String(parameter.default)));
  }, [parameter.default, parameter.type]);
  return (
    <input
      aria-label={label}
      type={parameter.type === "date" ? "date" : "text"}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(coerceDefault(parameter.type, e.target.value));
      }}
    />
  );
}

function ParameterRow({
  parameter,
  onChange,
  onRemove,
  index,
}: {
  parameter: PipelineParameter;
  onChange: (parameter: PipelineParameter) => void;
  onRemove: () => void;
  index: number;
}) {
  return (
    <tr data-testid="parameter-row">
      <td>
        <input
          aria-label={`Parameter ${index + 1} name`}
          className="mono"
          value={parameter.name}
          onChange={(e) => onChange({ ...parameter, name: e.target.value })}
        />
      </td>
      <td>
        <select
          aria-label={`Parameter ${index + 1} type`}
          value={parameter.type}
          onChange={(e) => {
            const type = isParameterType(e.target.value) ? e.target.value : "string";
            onChange({ ...parameter, type, default: coerceDefault(type, parameter.default) });
          }}
        >
          {PARAMETER_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </td>
      <td>
        {parameter.type === "boolean" ? (
          <input
            type="checkbox"
            aria-label={`Parameter ${index + 1} default`}
            checked={parameter.default === true}
            onChange={(e) => onChange({ ...parameter, default: e.target.checked })}
          />
        ) : (
          <DefaultInput
            label={`Parameter ${index + 1} default`}
            parameter={parameter}
            onChange={(value) => onChange({ ...parameter, default: value })}
          />
        )}
      </td>
      <td>
        <button type="button" className="icon-button" aria-label={`Remove parameter ${index + 1}`} onClick={onRemove}>
          ×
        </button>
      </td>
    </tr>
  );
}

/** Shown when no node is selected: the document's description and parameters. */
export function PipelineSettings() {
  const meta = useEditorStore((s) => s.meta);
  const setDescription = useEditorStore((s) => s.setDescription);
  const setParameters = useEditorStore((s) => s.setParameters);
  const { parameters } = meta;

  return (
    <section className="side-panel" aria-label="Pipeline settings">
      <header className="side-panel-head">
        <h2>Pipeline</h2>
      </header>
      <p className="muted small">Select a node to configure it.</p>
      <label className="stacked-field">
        Description
        <textarea rows={3} value={meta.description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <div className="subsection">
        <h3>Parameters</h3>
        <p className="muted small">
          Use <code>{"${name}"}</code> in paths, topics, tables and expressions; a run may override the default.
        </p>
        {parameters.length > 0 && (
          <table className="table compact">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th>Default</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {parameters.map((parameter, index) => (
                <ParameterRow
                  key={index}
                  index={index}
                  parameter={parameter}
                  onChange={(next) => setParameters(parameters.map((p, i) => (i === index ? next : p)))}
                  onRemove={() => setParameters(parameters.filter((_, i) => i !== index))}
                />
              ))}
            </tbody>
          </table>
        )}
        <button
          type="button"
          data-testid="parameter-add"
          onClick={() => setParameters([...parameters, { name: "", type: "string", default: "" }])}
        >
          Add parameter
        </button>
      </div>
    </section>
  );
}
