import { useId } from "react";
import { SPARK_TYPES, readSelectColumns, writeSelectColumns } from "../model/config";
import type { SelectColumn } from "../model/config";
import type { ConfigFormProps } from "./types";

export function SelectForm({ config, onChange }: ConfigFormProps) {
  const listId = useId();
  const columns = readSelectColumns(config);
  const write = (next: SelectColumn[]) => onChange(writeSelectColumns(config, next));
  const update = (index: number, patch: Partial<SelectColumn>) =>
    write(columns.map((c, i) => (i === index ? { ...c, ...patch } : c)));

  return (
    <div className="config-form">
      <p className="muted small">Keeps only these columns, in this order. Alias renames; type casts.</p>
      <datalist id={listId}>
        {SPARK_TYPES.map((type) => (
          <option key={type} value={type} />
        ))}
      </datalist>
      {columns.length > 0 && (
        <table className="table compact">
          <thead>
            <tr>
              <th>Column</th>
              <th>Alias</th>
              <th>Cast to</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {columns.map((column, index) => (
              <tr key={index} data-testid="select-row">
                <td>
                  <input
                    data-testid="select-name"
                    aria-label={`Column ${index + 1}`}
                    value={column.name}
                    onChange={(e) => update(index, { name: e.target.value })}
                  />
                </td>
                <td>
                  <input
                    data-testid="select-alias"
                    aria-label={`Alias ${index + 1}`}
                    value={column.alias}
                    onChange={(e) => update(index, { alias: e.target.value })}
                  />
                </td>
                <td>
                  <input
                    data-testid="select-type"
                    aria-label={`Cast type ${index + 1}`}
                    list={listId}
                    value={column.type}
                    onChange={(e) => update(index, { type: e.target.value })}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    className="icon-button"
                    aria-label={`Remove column ${index + 1}`}
                    onClick={() => write(columns.filter((_, i) => i !== index))}
                  >
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" data-testid="select-add" onClick={() => write([...columns, { name: "", alias: "", type: "" }])}>
        Add column
      </button>
    </div>
  );
}
