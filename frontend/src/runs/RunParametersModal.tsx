import { useState } from "react";
import type { FormEvent } from "react";
import type { Engine, ParameterValues } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { coerceDefault } from "../editor/model/parameters";
import { Modal } from "../ui/Modal";

/** Values for the document's declared parameters, pre-filled with their defaults. */
export function RunParametersModal({
  parameters,
  engine,
  onRun,
  onClose,
}: {
  parameters: PipelineParameter[];
  engine: Engine;
  onRun: (values: ParameterValues) => void;
  onClose: () => void;
}) {
  const [values, setValues] = useState<Record<string, string | boolean>>(() =>
    Object.fromEntries(parameters.map((p) => [p.name, typeof p.default === "boolean" ? p.default : String(p.default)])),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const typed: ParameterValues = {};
    for (const parameter of parameters) {
      typed[parameter.name] = coerceDefault(parameter.type, values[parameter.name] ?? parameter.default);
    }
    onRun(typed);
  };

  return (
    <Modal title={`Run on ${engine}`} onClose={onClose} testId="run-parameters">
      <form onSubmit={submit} className="config-form">
        {parameters.map((parameter) => {
          const value = values[parameter.name];
          return (
            <label key={parameter.name} className={parameter.type === "boolean" ? "checkbox-field" : "stacked-field"}>
              {parameter.type === "boolean" ? (
                <>
                  <input
                    type="checkbox"
                    data-testid={`run-param-${parameter.name}`}
                    checked={value === true}
                    onChange={(e) => setValues({ ...values, [parameter.name]: e.target.checked })}
                  />
                  {parameter.name}
                </>
              ) : (
                <>
                  <span>
                    {parameter.name} <span className="muted small">({parameter.type})</span>
                  </span>
                  <input
                    data-testid={`run-param-${parameter.name}`}
                    type={parameter.type === "date" ? "date" : "text"}
                    value={typeof value === "string" ? value : ""}
                    onChange={(e) => setValues({ ...values, [parameter.name]: e.target.value })}
                  />
                </>
              )}
            </label>
          );
        })}
        <div className="row">
          <button type="submit" className="primary" data-testid="run-start">
            Run
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
