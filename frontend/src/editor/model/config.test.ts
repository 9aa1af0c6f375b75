import { describe, expect, it } from "vitest";
import {
  parseConfigText,
  readCsvOptions,
  readSchema,
  readSelectColumns,
  setOptional,
  withSourceFormat,
  writeCsvOptions,
  writeDeriveColumns,
  writeSchema,
  writeSelectColumns,
} from "./config";
import { coerceDefault } from "./parameters";

describe("config forms omit empty optional keys", () => {
  it("removes a key set to an empty value and keeps the others", () => {
    const config = { path: "a.csv", format: "csv" };
    expect(setOptional(config, "path", "")).toEqual({ format: "csv" });
    expect(setOptional(config, "schema", [])).toEqual(config);
    expect(setOptional(config, "options", {})).toEqual(config);
    expect(setOptional(config, "streaming", false)).toEqual({ ...config, streaming: false });
    expect(config).toEqual({ path: "a.csv", format: "csv" });
  });

  it("writes select columns without empty alias or cast", () => {
    const config = writeSelectColumns({}, [
      { name: "id", alias: "", type: "" },
      { name: "amount", alias: "total", type: "decimal(12,2)" },
    ]);
    expect(config).toEqual({ columns: [{ name: "id" }, { name: "amount", alias: "total", type: "decimal(12,2)" }] });
    expect(readSelectColumns(config)[0]).toEqual({ name: "id", alias: "", type: "" });
    expect(writeSelectColumns(config, [])).toEqual({});
  });

  it("writes derive columns and drops the key when there are none", () => {
    expect(writeDeriveColumns({}, [{ name: "x", expression: "a + 1" }])).toEqual({ columns: [{ name: "x", expression: "a + 1" }] });
    expect(writeDeriveColumns({ columns: [{ name: "x", expression: "1" }] }, [])).toEqual({});
  });

  it("writes schema rows with nullable only when false", () => {
    const rows = readSchema([{ name: "id", type: "bigint", nullable: false }, { name: "amount", type: "decimal(12,2)" }]);
    expect(rows).toEqual([
      { name: "id", type: "bigint", nullable: false },
      { name: "amount", type: "decimal(12,2)", nullable: true },
    ]);
    expect(writeSchema(rows)).toEqual([{ name: "id", type: "bigint", nullable: false }, { name: "amount", type: "decimal(12,2)" }]);
  });

  it("keeps the CSV header flag and drops an empty delimiter", () => {
    const config = writeCsvOptions({ format: "csv" }, { header: false, delimiter: "" });
    expect(config).toEqual({ format: "csv", options: { header: false } });
    expect(writeCsvOptions(config, { header: true, delimiter: ";" })).toEqual({ format: "csv", options: { header: true, delimiter: ";" } });
    expect(readCsvOptions({})).toEqual({ header: false, delimiter: "" });
  });

  it("drops CSV options when a source switches to another format", () => {
    const csv = { path: "x", format: "csv", options: { header: true, delimiter: ";" } };
    expect(withSourceFormat(csv, "parquet")).toEqual({ path: "x", format: "parquet" });
    expect(withSourceFormat({ path: "x", format: "json" }, "csv")).toEqual({ path: "x", format: "csv", options: { header: true } });
  });
});

describe("JSON config editor", () => {
  it("parses an object and rejects anything else with a sentence", () => {
    expect(parseConfigText('{"n": 10}')).toEqual({ ok: true, config: { n: 10 } });
    expect(parseConfigText("  ")).toEqual({ ok: true, config: {} });
    const broken = parseConfigText('{"n": ');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error).toMatch(/not valid JSON.*last valid config is kept/);
    expect(parseConfigText("[1]")).toMatchObject({ ok: false });
  });
});

describe("parameter values", () => {
  it("types defaults by parameter type", () => {
    expect(coerceDefault("int", "42")).toBe(42);
    expect(coerceDefault("double", "1.")).toBe("1.");
    expect(coerceDefault("double", "1.5")).toBe(1.5);
    expect(coerceDefault("boolean", "true")).toBe(true);
    expect(coerceDefault("date", "2026-01-01")).toBe("2026-01-01");
    expect(coerceDefault("string", 5)).toBe("5");
  });
});
