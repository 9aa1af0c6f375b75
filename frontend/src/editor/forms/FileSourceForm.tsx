import { useId, useState } from "react";
import { api } from "../../api/endpoints";
import { errorSentence } from "../../api/errors";
import type { FileFormat, InferSchemaRequest, JsonObject, JsonValue } from "../../api/types";
import {
  readBoolean,
  readCsvOptions,
  readSchema,
  readString,
  setOptional,
  withSourceFormat,
  writeCsvOptions,
  writeSchema,
} from "../model/config";
import { SchemaEditor } from "./SchemaEditor";
import type { ConfigFormProps } from "./types";
import { useLandingFiles } from "./useLandingFiles";

const FORMATS: FileFormat[] = ["csv", "json", "parquet"];

function isFileFormat(value: string): value is FileFormat {
  return (FORMATS as string[]).includes(value);
}

function cellText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function FileSourceForm({ config, onChange }: ConfigFormProps) {
  const ids = useId();
  const { suggestions, error: filesError } = useLandingFiles();
  const [sample, setSample] = useState<JsonObject[] | null>(null);
  const [inferError, setInferError] = useState<string | null>(null);
  const [inferring, setInferring] = useState(false);

  const path = readString(config, "path");
  const format = readString(config, "format");
  const csv = readCsvOptions(config);
  const schema = readSchema(config["schema"]);
  const streaming = readBoolean(config, "streaming") === true;

  const infer = async () => {
    if (!isFileFormat(format)) {
      setInferError("Choose a format before inferring the schema.");
      return;
    }
    const request: InferSchemaRequest = { path, format };
    if (format === "csv") {
      request.options = { header: csv.header };
      if (csv.delimiter) request.options.delimiter = csv.delimiter;
    }
    setInferring(true);
    setInferError(null);
    try {
      const result = await api.files.inferSchema(request);
      onChange(setOptional(config, "schema", writeSchema(result.schema)));
      setSample(result.sample);
    } catch (error) {
      setInferError(errorSentence(error));
      setSample(null);
    } finally {
      setInferring(false);
    }
  };

  const sampleColumns = sample ? (schema.length > 0 ? schema.map((c) => c.name) : Object.keys(sample[0] ?? {})) : [];

  return (
    <div className="config-form">
      <label className="stacked-field">
        Path
        <input
          data-testid="config-path"
          list={`${ids}-files`}
          placeholder="orders/*.csv"
          value={path}
          onChange={(e) => onChange(setOptional(config, "path", e.target.value))}
        />
        <datalist id={`${ids}-files`}>
          {suggestions.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        {filesError && <span className="muted small">{filesError}</span>}
      </label>
      <label className="stacked-field">
        Format
        <select data-testid="config-format" value={format} onChange={(e) => onChange(withSourceFormat(config, e.target.value))}>
          {!isFileFormat(format) && <option value={format}>{format || "choose…"}</option>}
          {FORMATS.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
      </label>
      {format === "csv" && (
        <div className="field-row">
          <label className="checkbox-field">
            <input
              type="checkbox"
              data-testid="config-header"
              checked={csv.header}
              onChange={(e) => onChange(writeCsvOptions(config, { ...csv, header: e.target.checked }))}
            />
            First row is a header
          </label>
          <label className="inline-field">
            Delimiter
            <input
              className="narrow"
              data-testid="config-delimiter"
              placeholder=","
              value={csv.delimiter}
              onChange={(e) => onChange(writeCsvOptions(config, { ...csv, delimiter: e.target.value }))}
            />
          </label>
        </div>
      )}
      <label className="checkbox-field">
        <input
          type="checkbox"
          data-testid="config-streaming"
          checked={streaming}
          onChange={(e) => onChange(setOptional(config, "streaming", e.target.checked ? true : undefined))}
        />
        Watch the folder for new files (streaming)
      </label>

      <div className="subsection">
        <div className="subsection-head">
          <h4>Schema</h4>
          <button type="button" data-testid="infer-schema" disabled={!path || inferring} onClick={() => void infer()}>
            {inferring ? "Inferring…" : "Infer schema"}
          </button>
        </div>
        {inferError && (
          <p className="field-error" role="alert" data-testid="infer-error">
            {inferError}
          </p>
        )}
        <SchemaEditor
          rows={schema}
          listId={`${ids}-types`}
          onChange={(rows) => onChange(setOptional(config, "schema", writeSchema(rows)))}
        />
      </div>

      {sample && (
        <div className="subsection">
          <h4>Sample rows ({sample.length})</h4>
          {sample.length === 0 ? (
            <p className="muted">The files have no rows.</p>
          ) : (
            <div className="scroll-x">
              <table className="table compact" data-testid="schema-sample">
                <thead>
                  <tr>
                    {sampleColumns.map((c) => (
                      <th key={c}>{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {sample.map((row, index) => (
                    <tr key={index}>
                      {sampleColumns.map((c) => (
                        <td key={c}>{cellText(row[c])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </div>
  );
}
