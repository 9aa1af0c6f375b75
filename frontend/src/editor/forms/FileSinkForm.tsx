import { readString, setOptional } from "../model/config";
import type { ConfigFormProps } from "./types";

const FORMATS = ["parquet", "csv", "json"];
const MODES = ["overwrite", "append"];

function Choice({ value, options, testId, onChange }: { value: string; options: string[]; testId: string; onChange: (value: string) => void }) {
  return (
    <select data-testid={testId} value={value} onChange={(e) => onChange(e.target.value)}>
      {!options.includes(value) && <option value={value}>{value || "choose…"}</option>}
      {options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}

export function FileSinkForm({ config, onChange }: ConfigFormProps) {
  return (
    <div className="config-form">
      <label className="stacked-field">
        Path
        <input
          data-testid="config-path"
          placeholder="out/orders"
          value={readString(config, "path")}
          onChange={(e) => onChange(setOptional(config, "path", e.target.value))}
        />
      </label>
      <label className="stacked-field">
        Format
        <Choice
          testId="config-format"
          value={readString(config, "format")}
          options={FORMATS}
          onChange={(v) => onChange(setOptional(config, "format", v))}
        />
      </label>
      <label className="stacked-field">
        Mode
        <Choice
          testId="config-mode"
          value={readString(config, "mode")}
          options={MODES}
          onChange={(v) => onChange(setOptional(config, "mode", v))}
        />
      </label>
    </div>
  );
}
