import { describe, expect, it } from "vitest";
import type { LineageGraph } from "../catalog/api";
import { COLUMN_WIDTH, ROW_HEIGHT, describeColumn, layoutGraph } from "./layout";

function dataset(id: number, name: string, depth: number) {
  return { id, uri: `file:${name}`, kind: "file" as const, namespace: "local", name, format: "parquet", depth };
}

const graph: LineageGraph = {
  root: { dataset: 2, column: null },
  direction: "both",
  datasets: [dataset(1, "raw", -1), dataset(2, "clean", 0), dataset(4, "marts/daily", 1), dataset(3, "audit", 1)],
  columns: [],
  pipelines: [
    { id: 10, name: "clean", version: 1 },
    { id: 11, name: "daily", version: 3 },
    { id: 12, name: "audit", version: 1 },
  ],
  edges: [
    { source: 1, target: 2, pipeline: 10, columns: [] },
    { source: 2, target: 4, pipeline: 11, columns: [{ source_column: "amount", target_column: "revenue", how: "aggregation" }] },
    { source: 2, target: 3, pipeline: 12, columns: [] },
  ],
};

describe("layoutGraph", () => {
  it("puts each depth in a column, upstream left, and centres each column", () => {
    const { nodes } = layoutGraph(graph);
    const at = Object.fromEntries(nodes.map((n) => [n.data.dataset.name, n.position]));
    expect(at["raw"]).toEqual({ x: -COLUMN_WIDTH, y: 0 });
    expect(at["clean"]).toEqual({ x: 0, y: 0 });
    // Two datasets one hop downstream: sorted by name, half a row above and below the middle.
    expect(at["audit"]).toEqual({ x: COLUMN_WIDTH, y: -ROW_HEIGHT / 2 });
    expect(at["marts/daily"]).toEqual({ x: COLUMN_WIDTH, y: ROW_HEIGHT / 2 });
    expect(nodes.filter((n) => n.data.root).map((n) => n.data.dataset.name)).toEqual(["clean"]);
  });

  it("labels each edge with its pipeline and keeps its columns", () => {
    const { edges } = layoutGraph(graph);
    expect(edges.map((e) => [e.source, e.target, e.label])).toEqual([
      ["dataset-1", "dataset-2", "clean"],
      ["dataset-2", "dataset-4", "daily"],
      ["dataset-2", "dataset-3", "audit"],
    ]);
    expect(edges[1]?.data?.columns).toHaveLength(1);
  });

  it("lists the traced columns of each dataset in column mode", () => {
    const traced: LineageGraph = {
      ...graph,
      root: { dataset: 2, column: "amount" },
      columns: [
        { dataset: 2, column: "amount", depth: 0 },
        { dataset: 4, column: "revenue", depth: 1 },
        { dataset: 3, column: null, depth: 1 },
      ],
    };
    const columns = Object.fromEntries(layoutGraph(traced).nodes.map((n) => [n.data.dataset.name, n.data.columns]));
    expect(columns).toEqual({ raw: [], clean: ["amount"], "marts/daily": ["revenue"], audit: [null] });
  });
});

describe("describeColumn", () => {
  it("says how a column is made, and when a column only decides rows", () => {
    expect(describeColumn({ source_column: "amount", target_column: "revenue", how: "aggregation" })).toBe(
      "revenue ← aggregated from amount",
    );
    expect(describeColumn({ source_column: "status", target_column: null, how: "filter" })).toBe("status filters the rows");
    expect(describeColumn({ source_column: "id", target_column: null, how: "join_key" })).toBe("id joins the rows");
  });
});
