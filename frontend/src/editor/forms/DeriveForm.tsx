import { readDeriveColumns, writeDeriveColumns } from "../model/config";
import type { DeriveColumn } from "../model/config";
import type { ConfigFormProps } from "./types";

export function DeriveForm({ config, onChange }: ConfigFormProps) {
  const columns = readDeriveColumns(config);
  const write = (next: DeriveColumn[]) => onChange(writeDeriveColumns(config, next));
  const update = (index: number, patch: Partial<DeriveColumn>) =>
    write(columns.map((c, i) => (i === index ? { ...c, ...patch } : c)));

  return (
    <div className="config-form">
      <p className="muted small">Adds or replaces columns; a later column may use an earlier one.</p>
      {columns.map((column, index) => (
        <div key={index} className="derive-row" data-testid="derive-row">
          <div className="derive-row-head">
            <input
              data-testid="derive-name"
              aria-label={`Column ${index + 1} name`}
              placeholder="column name"
              value={column.name}
              onChange={(e) => update(index, { name: e.target.value })}
            />
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove column ${index + 1}`}
              onClick={() => write(columns.filter((_, i) => i !== index))}
            >
              ×
            </button>
          </div>
          <textarea
            data-testid="derive-expression"
            aria-label={`Column ${index + 1} expression`}
            className="mono"
            rows={2}
            placeholder="amount * 1.2"
            value={column.expression}
            onChange={(e) => update(index, { expression: e.target.value })}
          />
        </div>
      ))}
      <button type="button" data-testid="derive-add" onClick={() => write([...columns, { name: "", expression: "" }])}>
        Add column
      </button>
    </div>
  );
}
