import { readString, setOptional } from "../model/config";
import type { ConfigFormProps } from "./types";

export function FilterForm({ config, onChange }: ConfigFormProps) {
  return (
    <div className="config-form">
      <label className="stacked-field">
        Condition (Spark SQL; rows where it is true are kept)
        <textarea
          data-testid="config-condition"
          rows={4}
          className="mono"
          placeholder="amount > 100 AND status = 'paid'"
          value={readString(config, "condition")}
          onChange={(e) => onChange(setOptional(config, "condition", e.target.value))}
        />
      </label>
    </div>
  );
}
