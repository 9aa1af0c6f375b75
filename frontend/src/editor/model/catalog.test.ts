import { describe, expect, it } from "vitest";
import { NODE_SPECS, NODE_TYPES, inputPorts, outputPorts, specsByCategory } from "./catalog";

const names = (ports: { name: string }[]) => ports.map((p) => p.name);

describe("port definitions", () => {
  it("covers every node type of the format, grouped by category", () => {
    expect(NODE_TYPES).toHaveLength(19);
    expect(specsByCategory("source").map((s) => s.type)).toEqual(["source.file", "source.kafka", "source.iceberg"]);
    expect(specsByCategory("sink").map((s) => s.type)).toEqual(["sink.iceberg", "sink.file", "sink.kafka", "sink.alert"]);
    expect(specsByCategory("transform")).toHaveLength(12);
  });

  it("gives sources one output `out` and no input", () => {
    for (const spec of specsByCategory("source")) {
      expect(names(spec.inputs)).toEqual([]);
      expect(names(spec.outputs)).toEqual(["out"]);
    }
  });

  it("gives sinks one input `in` and no output", () => {
    for (const spec of specsByCategory("sink")) {
      expect(names(spec.inputs)).toEqual(["in"]);
      expect(names(spec.outputs)).toEqual([]);
    }
  });

  it("gives single-input transforms `in` -> `out`", () => {
    for (const type of ["transform.select", "transform.filter", "transform.derive", "transform.aggregate", "transform.sort", "transform.limit"]) {
      expect(names(inputPorts(type))).toEqual(["in"]);
      expect(names(outputPorts(type))).toEqual(["out"]);
      expect(inputPorts(type)[0]?.multiple).toBe(false);
    }
  });

  it("gives join `left` and `right`, quality `out` and `rejected`", () => {
    expect(names(inputPorts("transform.join"))).toEqual(["left", "right"]);
    expect(names(outputPorts("transform.quality"))).toEqual(["out", "rejected"]);
  });

  it("lets union and sql take several edges on `in`", () => {
    expect(inputPorts("transform.union")).toEqual([{ name: "in", multiple: true }]);
    expect(inputPorts("transform.sql")).toEqual([{ name: "in", multiple: true }]);
  });

  it("has no ports for an unknown type and a fresh default config per call", () => {
    expect(inputPorts("transform.nope")).toEqual([]);
    const a = NODE_SPECS["source.file"].defaultConfig();
    a["path"] = "changed";
    expect(NODE_SPECS["source.file"].defaultConfig()).toEqual({ format: "csv", options: { header: true } });
  });
});
