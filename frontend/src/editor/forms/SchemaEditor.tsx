import { SPARK_TYPES } from "../model/config";
import type { SchemaRow } from "../model/config";

interface Props {
  rows: SchemaRow[];
  onChange: (rows: SchemaRow[]) => void;
  listId: string;
}

/** Rows of name + Spark type (a suggestion list; free text allowed for `decimal(p,s)`) + nullable. */
export function SchemaEditor({ rows, onChange, listId }: Props) {
  const update = (index: number, patch: Partial<SchemaRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...patch } : row)));

  return (
    <div className="schema-editor">
      <datalist id={listId}>
        {SPARK_TYPES.map((type) => (
          <option key={type} value={type} />
        ))}
      </datalist>
      {rows.length > 0 && (
        <table className="table compact">
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th title="nullable">Null</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <tr key={index} data-testid="schema-row">
                <td>
                  <input
                    data-testid="schema-name"
                    aria-label={`Column ${index + 1} name`}
                    value={row.name}
                    onChange={(e) => update(index, { name: e.target.value })}
                  />
                </td>
                <td>
                  <input
                    data-testid="schema-type"
                    aria-label={`Column ${index + 1} type`}
                    list={listId}
                    value={row.type}
                    onChange={(e) => update(index, { type: e.target.value })}
                  />
                </td>
                <td>
                  <input
                    type="checkbox"
                    data-testid="schema-nullable"
                    aria-label={`Column ${index + 1} nullable`}
                    checked={row.nullable}
                    onChange={(e) => update(index, { nullable: e.target.checked })}
                  />
                </td>
                <td>
                  <button
                    type="button"
                    className="icon-button"
                    data-testid="schema-remove"
                    aria-label={`Remove column ${index + 1}`}
                    onClick={() => onChange(rows.filter((_, i) => i !== index))}
                  >
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button
        type="button"
        data-testid="schema-add"
        onClick={() => onChange([...rows, { name: "", type: "string", nullable: true }])}
      >
        Add column
      </button>
    </div>
  );
}
