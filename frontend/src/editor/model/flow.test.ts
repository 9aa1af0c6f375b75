import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../api/types";
import { documentToJson, parseDocument } from "./document";
import { addConnection, connectionProblem, documentToFlow, flowToDocument, renameInGraph } from "./flow";

const stored: JsonObject = {
  format: "studio.pipeline/v1",
  name: "orders_daily",
  description: "Daily orders",
  mode: "batch",
  parameters: [{ name: "run_date", type: "date", default: "2026-01-01" }],
  nodes: [
    {
      id: "orders",
      type: "source.file",
      label: "Raw orders",
      config: {
        path: "data/orders/*.csv",
        format: "csv",
        options: { header: true },
        schema: [
          { name: "order_id", type: "bigint", nullable: false },
          { name: "amount", type: "decimal(12,2)" },
        ],
      },
      position: { x: 80, y: 120 },
    },
    { id: "big", type: "transform.filter", config: { condition: "amount > 100" }, position: { x: 340, y: 120 } },
    {
      id: "checks",
      type: "transform.quality",
      config: { rules: [{ name: "positive", expression: "amount > 0", on_fail: "quarantine" }] },
      position: { x: 600, y: 120 },
    },
    { id: "out", type: "sink.file", config: { path: "out/big", format: "parquet", mode: "overwrite" }, position: { x: 860, y: 60 } },
    { id: "bad", type: "sink.file", config: { path: "out/bad", format: "json", mode: "append" }, position: { x: 860, y: 200 } },
  ],
  edges: [
    { from: { node: "orders", port: "out" }, to: { node: "big", port: "in" } },
    { from: { node: "big", port: "out" }, to: { node: "checks", port: "in" } },
    { from: { node: "checks", port: "out" }, to: { node: "out", port: "in" } },
    { from: { node: "checks", port: "rejected" }, to: { node: "bad", port: "in" } },
  ],
};

describe("document <-> React Flow", () => {
  it("round-trips a stored document unchanged", () => {
    const graph = documentToFlow(parseDocument(stored, "fallback"));
    expect(documentToJson(flowToDocument(graph))).toEqual(stored);
  });

  it("maps ports to React Flow handles", () => {
    const { nodes, edges } = documentToFlow(parseDocument(stored, "x"));
    expect(nodes.map((n) => n.id)).toEqual(["orders", "big", "checks", "out", "bad"]);
    expect(nodes[0]?.data).toEqual({
      nodeType: "source.file",
      label: "Raw orders",
      config: (stored["nodes"] as JsonObject[])[0]?.["config"],
    });
    expect(edges[3]).toMatchObject({ source: "checks", sourceHandle: "rejected", target: "bad", targetHandle: "in" });
  });

  it("omits an empty label and description, rounds positions, keeps parameters", () => {
    const graph = documentToFlow(parseDocument(stored, "x"));
    graph.meta.description = "  ";
    const first = graph.nodes[0];
    if (!first) throw new Error("no node");
    graph.nodes[0] = { ...first, position: { x: 10.6, y: 20.2 }, data: { ...first.data, label: "" } };
    const json = documentToJson(flowToDocument(graph));
    expect(json).not.toHaveProperty("description");
    const node = (json["nodes"] as JsonObject[])[0];
    expect(node).not.toHaveProperty("label");
    expect(node?.["position"]).toEqual({ x: 11, y: 20 });
    expect(Object.keys(json)).toEqual(["format", "name", "mode", "parameters", "nodes", "edges"]);
  });

  it("reads an empty or malformed document without failing", () => {
    const empty = parseDocument(null, "new_pipeline");
    expect(documentToJson(empty)).toEqual({
      format: "studio.pipeline/v1",
      name: "new_pipeline",
      mode: "batch",
      parameters: [],
      nodes: [],
      edges: [],
    });
    const messy = parseDocument(
      { format: "studio.pipeline/v1", nodes: [{ id: "a", type: "source.file" }, { type: "x" }, 3], edges: [{ from: "a" }] },
      "p",
    );
    expect(messy.nodes).toEqual([{ id: "a", type: "source.file", config: {} }]);
    expect(messy.edges).toEqual([]);
  });

  it("lays out nodes without positions by depth from the sources", () => {
    const doc = parseDocument(
      {
        format: "studio.pipeline/v1",
        name: "p",
        mode: "batch",
        parameters: [],
        nodes: [
          { id: "sink", type: "sink.file", config: {} },
          { id: "src", type: "source.file", config: {} },
        ],
        edges: [{ from: { node: "src", port: "out" }, to: { node: "sink", port: "in" } }],
      },
      "p",
    );
    const [sink, src] = documentToFlow(doc).nodes;
    expect(src?.position.x).toBeLessThan(sink?.position.x ?? 0);
  });
});

describe("graph edits", () => {
  const graph = () => documentToFlow(parseDocument(stored, "x"));

  it("renames a node and the edges at both ends", () => {
    const { nodes, edges } = graph();
    const renamed = renameInGraph(nodes, edges, "big", "large_orders");
    expect(renamed.nodes.map((n) => n.id)).toContain("large_orders");
    expect(renamed.nodes.map((n) => n.id)).not.toContain("big");
    const doc = flowToDocument({ meta: graph().meta, ...renamed });
    expect(doc.edges.slice(0, 2)).toEqual([
      { from: { node: "orders", port: "out" }, to: { node: "large_orders", port: "in" } },
      { from: { node: "large_orders", port: "out" }, to: { node: "checks", port: "in" } },
    ]);
    expect(new Set(renamed.edges.map((e) => e.id)).size).toBe(renamed.edges.length);
  });

  it("refuses cycles, self loops, unknown ports and duplicates", () => {
    const { nodes, edges } = graph();
    const connect = (source: string, sourceHandle: string, target: string, targetHandle: string) =>
      connectionProblem({ source, sourceHandle, target, targetHandle }, nodes, edges);
    expect(connect("checks", "out", "big", "in")).toMatch(/cycle/);
    expect(connect("big", "out", "big", "in")).toMatch(/itself/);
    expect(connect("orders", "rejected", "big", "in")).toMatch(/no output port/);
    expect(connect("orders", "out", "checks", "left")).toMatch(/no input port/);
    expect(connect("orders", "out", "big", "in")).toMatch(/already connected/);
    expect(connect("orders", "out", "out", "in")).toBeNull();
  });

  it("replaces the edge on a single-input port and keeps several on union", () => {
    const { nodes, edges } = graph();
    const replaced = addConnection({ source: "orders", sourceHandle: "out", target: "out", targetHandle: "in" }, nodes, edges);
    expect(replaced.filter((e) => e.target === "out").map((e) => e.source)).toEqual(["orders"]);

    const union = documentToFlow(
      parseDocument(
        {
          format: "studio.pipeline/v1",
          name: "u",
          mode: "batch",
          parameters: [],
          nodes: [
            { id: "a", type: "source.file", config: {} },
            { id: "b", type: "source.file", config: {} },
            { id: "u", type: "transform.union", config: {} },
          ],
          edges: [{ from: { node: "a", port: "out" }, to: { node: "u", port: "in" } }],
        },
        "u",
      ),
    );
    const both = addConnection({ source: "b", sourceHandle: "out", target: "u", targetHandle: "in" }, union.nodes, union.edges);
    expect(both.filter((e) => e.target === "u").map((e) => e.source)).toEqual(["a", "b"]);
  });
});
