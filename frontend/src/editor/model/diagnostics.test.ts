import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Diagnostic, JsonObject, ValidationResult } from "../../api/types";
import { createDebouncedValidator } from "./debouncedValidator";
import { indexDiagnostics } from "./diagnostics";

const error = (node: string | null, path: string, message: string): Diagnostic => ({ severity: "error", node, path, message });

const result: ValidationResult = {
  valid: false,
  errors: [
    error("big", "$.nodes[1].config.condition", "Unknown column amout."),
    error("big", "$.nodes[1].config", "Another one."),
    error(null, "$.nodes[2].config.path", "Path is required."),
    error(null, "$.edges[0]", "The pipeline has no sink."),
  ],
  warnings: [{ severity: "warning", node: "orders", path: "$.nodes[0].config.schema", message: "Schema has no id." }],
  schemas: { orders: { out: [{ name: "id", type: "bigint", nullable: false }] } },
};

describe("validation result mapping", () => {
  const index = indexDiagnostics(result, ["orders", "big", "out"]);

  it("counts errors per node for the badges", () => {
    expect(index.errorCounts).toEqual({ big: 2, out: 1 });
  });

  it("lists each node's errors and warnings", () => {
    expect(index.byNode["big"]?.errors.map((d) => d.message)).toEqual(["Unknown column amout.", "Another one."]);
    expect(index.byNode["orders"]).toEqual({ errors: [], warnings: [result.warnings[0]] });
  });

  it("attributes a diagnostic without node to the node its path points into", () => {
    expect(index.byNode["out"]?.errors[0]?.node).toBe("out");
    expect(index.all.find((d) => d.path === "$.edges[0]")?.node).toBeNull();
  });

  it("keeps all diagnostics, errors first, and the schemas", () => {
    expect(index.all.map((d) => d.severity)).toEqual(["error", "error", "error", "error", "warning"]);
    expect(index.schemas["orders"]?.["out"]?.[0]?.name).toBe("id");
    expect(index.valid).toBe(false);
  });
});

describe("debounced validation", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const ok = (marker: string): ValidationResult => ({ valid: true, errors: [], warnings: [error(marker, "$", marker)], schemas: {} });

  it("sends one request for a burst of changes, 400 ms after the last", async () => {
    const validate = vi.fn((document: JsonObject) => Promise.resolve(ok(String(document["name"]))));
    const onResult = vi.fn();
    const validator = createDebouncedValidator({ delayMs: 400, validate, onResult, onError: vi.fn() });
    validator.schedule({ name: "a" });
    await vi.advanceTimersByTimeAsync(300);
    validator.schedule({ name: "b" });
    await vi.advanceTimersByTimeAsync(399);
    expect(validate).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(validate).toHaveBeenCalledTimes(1);
    expect(validate.mock.calls[0]?.[0]).toEqual({ name: "b" });
    expect(onResult).toHaveBeenCalledWith(ok("b"), { name: "b" });
  });

  it("ignores an older answer that arrives after a newer request started, and aborts it", async () => {
    const resolvers: ((r: ValidationResult) => void)[] = [];
    const signals: AbortSignal[] = [];
    const validate = vi.fn(
      (_document: JsonObject, signal: AbortSignal) =>
        new Promise<ValidationResult>((resolve) => {
          resolvers.push(resolve);
          signals.push(signal);
        }),
    );
    const onResult = vi.fn();
    const validator = createDebouncedValidator({ delayMs: 400, validate, onResult, onError: vi.fn() });
    validator.schedule({ name: "old" });
    await vi.advanceTimersByTimeAsync(400);
    validator.schedule({ name: "new" });
    await vi.advanceTimersByTimeAsync(400);
    expect(signals[0]?.aborted).toBe(true);
    resolvers[1]?.(ok("new"));
    resolvers[0]?.(ok("old"));
    await vi.advanceTimersByTimeAsync(0);
    expect(onResult).toHaveBeenCalledTimes(1);
    expect(onResult.mock.calls[0]?.[1]).toEqual({ name: "new" });
  });

  it("reports a failed request and nothing after dispose", async () => {
    const onError = vi.fn();
    const onResult = vi.fn();
    const validator = createDebouncedValidator({
      delayMs: 400,
      validate: () => Promise.reject(new Error("Cannot reach the server.")),
      onResult,
      onError,
    });
    validator.schedule({});
    await vi.advanceTimersByTimeAsync(400);
    expect(onError).toHaveBeenCalledTimes(1);
    validator.schedule({});
    validator.dispose();
    await vi.advanceTimersByTimeAsync(1000);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onResult).not.toHaveBeenCalled();
  });
});
