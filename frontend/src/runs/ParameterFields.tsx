import type { ParameterValues } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { coerceDefault } from "../editor/model/parameters";

/** What the fields hold while a person types: text, or a boolean for a checkbox. */
export type ParameterDraft = Record<string, string | boolean>;

/** The fields pre-filled with `values` where given, else each parameter's default. */
export function parameterDraft(parameters: PipelineParameter[], values: ParameterValues = {}): ParameterDraft {
  return Object.fromEntries(
    parameters.map((p) => {
      const value = values[p.name] ?? p.default;
      return [p.name, typeof value === "boolean" ? value : String(value ?? "")];
    }),
  );
}

/** The draft as the JSON values the API takes (numbers for numeric parameters, booleans for boolean). */
export function parameterValues(parameters: PipelineParameter[], draft: ParameterDraft): ParameterValues {
  const typed: ParameterValues = {};
  for (const parameter of parameters) typed[parameter.name] = coerceDefault(parameter.type, draft[parameter.name] ?? parameter.default);
  return typed;
}

/** One field per declared parameter, typed (a checkbox for boolean, a date picker for date). */
export function ParameterFields({
  parameters,
  draft,
  onChange,
  testIdPrefix,
}: {
  parameters: PipelineParameter[];
  draft: ParameterDraft;
  onChange: (draft: ParameterDraft) => void;
  testIdPrefix: string;
}) {
  return (
    <>
      {parameters.map((parameter) => {
        const value = draft[parameter.name];
        const testId = `${testIdPrefix}-${parameter.name}`;
        return parameter.type === "boolean" ? (
          <label key={parameter.name} className="checkbox-field">
            <input
              type="checkbox"
              data-testid={testId}
              checked={value === true}
              onChange={(e) => onChange({ ...draft, [parameter.name]: e.target.checked })}
            />
            {parameter.name}
          </label>
        ) : (
          <label key={parameter.name} className="stacked-field">
            <span>
              {parameter.name} <span className="muted small">({parameter.type})</span>
            </span>
            <input
              data-testid={testId}
              type={parameter.type === "date" ? "date" : "text"}
              value={typeof value === "string" ? value : ""}
              onChange={(e) => onChange({ ...draft, [parameter.name]: e.target.value })}
            />
          </label>
        );
      })}
    </>
  );
}

/** Parameter values as `name=value` chips. */
export function ParameterValuesList({ values }: { values: ParameterValues }) {
  return (
    <>
      {Object.entries(values).map(([name, value]) => (
        <code key={name} className="parameter">
          {name}={String(value)}
        </code>
      ))}
    </>
  );
}

/** A "Parameters" entry of a fact list (`<dl>`), when there are any. */
export function ParameterFacts({ values }: { values: ParameterValues }) {
  if (Object.keys(values).length === 0) return null;
  return (
    <>
      <dt>Parameters</dt>
      <dd>
        <ParameterValuesList values={values} />
      </dd>
    </>
  );
}
