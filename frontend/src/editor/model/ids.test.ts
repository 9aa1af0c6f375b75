import { describe, expect, it } from "vitest";
import { NODE_TYPES } from "./catalog";
import { NODE_ID_PATTERN, baseIdForType, generateNodeId, nodeIdProblem } from "./ids";

describe("node id generation", () => {
  it("derives the id from the type", () => {
    expect(baseIdForType("transform.filter")).toBe("filter");
    expect(baseIdForType("transform.window_aggregate")).toBe("window_aggregate");
    expect(baseIdForType("source.file")).toBe("source_file");
    expect(baseIdForType("sink.file")).toBe("sink_file");
  });

  it("numbers further nodes of a type from 2, skipping taken ids", () => {
    expect(generateNodeId("transform.filter", [])).toBe("filter");
    expect(generateNodeId("transform.filter", ["filter"])).toBe("filter_2");
    expect(generateNodeId("transform.filter", ["filter", "filter_2", "filter_4"])).toBe("filter_3");
  });

  it("gives every node type an id the format accepts", () => {
    for (const type of NODE_TYPES) {
      expect(generateNodeId(type, [])).toMatch(NODE_ID_PATTERN);
      expect(generateNodeId(type, [baseIdForType(type)])).toMatch(NODE_ID_PATTERN);
    }
  });
});

describe("node id rules", () => {
  const existing = ["orders", "big"];

  it("accepts a fresh valid id and the node's own id", () => {
    expect(nodeIdProblem("large_orders", existing, "big")).toBeNull();
    expect(nodeIdProblem("big", existing, "big")).toBeNull();
  });

  it("rejects ids that break the pattern", () => {
    for (const bad of ["", "Orders", "1st", "_x", "has-dash", "a".repeat(64)]) {
      expect(nodeIdProblem(bad, existing, "big")).not.toBeNull();
    }
    expect(nodeIdProblem("a".repeat(63), existing, "big")).toBeNull();
  });

  it("rejects an id another node has", () => {
    expect(nodeIdProblem("orders", existing, "big")).toMatch(/already has the id/);
  });
});
