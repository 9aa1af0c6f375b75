import { ENGINES } from "../api/types";
import type { Engine } from "../api/types";

/** "Engine" with a choice of the engines a pipeline compiles to. */
export function EngineField({
  value,
  onChange,
  testId,
  stacked = false,
}: {
  value: Engine;
  onChange: (engine: Engine) => void;
  testId: string;
  /** Label above the field (in a form row) rather than beside it (in a toolbar). */
  stacked?: boolean;
}) {
  return (
    <label className={stacked ? "stacked-field" : "inline-field"}>
      Engine
      <select data-testid={testId} value={value} onChange={(e) => onChange(ENGINES.find((x) => x === e.target.value) ?? "spark")}>
        {ENGINES.map((engine) => (
          <option key={engine} value={engine}>
            {engine}
          </option>
        ))}
      </select>
    </label>
  );
}
