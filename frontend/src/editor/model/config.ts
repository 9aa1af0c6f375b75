import type { JsonObject, JsonValue, SchemaField } from "../../api/types";
import { isJsonObject } from "./document";

/** Spark-SQL type names offered in type pickers; `decimal(p,s)` is typed freely. */
export const SPARK_TYPES = [
  "string",
  "boolean",
  "int",
  "bigint",
  "float",
  "double",
  "decimal(10,2)",
  "date",
  "timestamp",
  "binary",
] as const;

function isEmpty(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isJsonObject(value)) return Object.keys(value).length === 0;
  return false;
}

/** A copy of `config` with `key` set, or removed when the value is empty (the format rejects empty keys). */
export function setOptional(config: JsonObject, key: string, value: JsonValue | undefined): JsonObject {
  const next: JsonObject = { ...config };
  if (value === undefined || isEmpty(value)) delete next[key];
  else next[key] = value;
  return next;
}

export function readString(config: JsonObject, key: string): string {
  const value = config[key];
  return typeof value === "string" ? value : "";
}

export function readBoolean(config: JsonObject, key: string): boolean | null {
  const value = config[key];
  return typeof value === "boolean" ? value : null;
}

function readObjects(value: JsonValue | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

function text(row: JsonObject, key: string): string {
  const value = row[key];
  return typeof value === "string" ? value : "";
}

export type SchemaRow = SchemaField;

export function readSchema(value: JsonValue | undefined): SchemaRow[] {
  return readObjects(value).map((row) => ({
    name: text(row, "name"),
    type: text(row, "type"),
    nullable: row["nullable"] !== false,
  }));
}

/** Schema rows as the format writes them: `nullable` only when false (true is the default). */
export function writeSchema(rows: SchemaRow[]): JsonObject[] {
  return rows.map((row) => {
    const out: JsonObject = { name: row.name, type: row.type };
    if (!row.nullable) out["nullable"] = false;
    return out;
  });
}

export interface SelectColumn {
  name: string;
  alias: string;
  type: string;
}

export function readSelectColumns(config: JsonObject): SelectColumn[] {
  return readObjects(config["columns"]).map((row) => ({
    name: text(row, "name"),
    alias: text(row, "alias"),
    type: text(row, "type"),
  }));
}

export function writeSelectColumns(config: JsonObject, columns: SelectColumn[]): JsonObject {
  return setOptional(
    config,
    "columns",
    columns.map((column) => {
      let row: JsonObject = { name: column.name };
      row = setOptional(row, "alias", column.alias.trim() ? column.alias : undefined);
      row = setOptional(row, "type", column.type.trim() ? column.type : undefined);
      return row;
    }),
  );
}

export interface DeriveColumn {
  name: string;
  expression: string;
}

export function readDeriveColumns(config: JsonObject): DeriveColumn[] {
  return readObjects(config["columns"]).map((row) => ({
    name: text(row, "name"),
    expression: text(row, "expression"),
  }));
}

export function writeDeriveColumns(config: JsonObject, columns: DeriveColumn[]): JsonObject {
  return setOptional(
    config,
    "columns",
    columns.map((column) => ({ name: column.name, expression: column.expression })),
  );
}

export interface CsvOptions {
  header: boolean;
  delimiter: string;
}

export function readCsvOptions(config: JsonObject): CsvOptions {
  const options = isJsonObject(config["options"]) ? config["options"] : {};
  return {
    header: options["header"] === true,
    delimiter: typeof options["delimiter"] === "string" ? options["delimiter"] : "",
  };
}

export function writeCsvOptions(config: JsonObject, options: CsvOptions): JsonObject {
  const current = isJsonObject(config["options"]) ? config["options"] : {};
  let next: JsonObject = { ...current, header: options.header };
  next = setOptional(next, "delimiter", options.delimiter);
  return setOptional(config, "options", next);
}

/**
 * Changing a file source's format: `options` (header, delimiter) only applies to CSV, so it is
 * dropped for JSON and Parquet, and a CSV source starts with a header row.
 */
export function withSourceFormat(config: JsonObject, format: string): JsonObject {
  let next = setOptional(config, "format", format);
  if (format === "csv") {
    if (!isJsonObject(next["options"])) next = writeCsvOptions(next, { header: true, delimiter: "" });
  } else {
    next = setOptional(next, "options", undefined);
  }
  return next;
}

/** Pretty JSON for a config textarea. */
export function configToText(config: JsonObject): string {
  return JSON.stringify(config, null, 2);
}

export type ParsedConfig = { ok: true; config: JsonObject } | { ok: false; error: string };

/** Parses a config typed as JSON; it must be an object. */
export function parseConfigText(textValue: string): ParsedConfig {
  if (!textValue.trim()) return { ok: true, config: {} };
  let value: unknown;
  try {
    value = JSON.parse(textValue);
  } catch (error) {
    const reason = error instanceof Error ? error.message : "invalid JSON";
    return { ok: false, error: `The config is not valid JSON (${reason}). The last valid config is kept.` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "The config must be a JSON object ({...}). The last valid config is kept." };
  }
  return { ok: true, config: value as JsonObject };
}
