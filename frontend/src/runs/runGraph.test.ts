import { describe, expect, it } from "vitest";
import type { PipelineDocument } from "../editor/model/document";
import { nodeOf } from "./fixtures";
import { ROWS_EDGE, RUN_NODE, portRows, runFlow } from "./runGraph";

const document: PipelineDocument = {
  format: "studio.pipeline/v1",
  name: "q",
  mode: "batch",
  parameters: [],
  nodes: [
    { id: "orders", type: "source.file", config: {}, position: { x: 0, y: 0 } },
    { id: "check", type: "transform.quality", config: {} },
    { id: "good", type: "sink.file", config: {} },
    { id: "bad", type: "sink.file", config: {} },
  ],
  edges: [
    { from: { node: "orders", port: "out" }, to: { node: "check", port: "in" } },
    { from: { node: "check", port: "out" }, to: { node: "good", port: "in" } },
    { from: { node: "check", port: "rejected" }, to: { node: "bad", port: "in" } },
  ],
};

describe("run graph", () => {
  it("puts each node's status and rows on the node and each port's rows on its edges", () => {
    const nodes = [
      nodeOf("orders", { status: "succeeded", rows_out: 10, ports: [{ port: "out", rows: 10, batches: 0 }] }),
      nodeOf("check", {
        status: "running",
        rows_in: 10,
        rows_out: 10,
        ports: [
          { port: "out", rows: 7, batches: 0 },
          { port: "rejected", rows: 3, batches: 0 },
        ],
      }),
    ];
    const flow = runFlow(document, nodes);
    expect(flow.nodes.map((n) => [n.id, n.type, n.data.status, n.data.rowsOut])).toEqual([
      ["orders", RUN_NODE, "succeeded", 10],
      ["check", RUN_NODE, "running", 10],
      ["good", RUN_NODE, "pending", null],
      ["bad", RUN_NODE, "pending", null],
    ]);
    expect(flow.edges.map((e) => [e.source, e.target, e.type, e.data?.rows, e.animated])).toEqual([
      ["orders", "check", ROWS_EDGE, 10, false],
      ["check", "good", ROWS_EDGE, 7, true],
      ["check", "bad", ROWS_EDGE, 3, true],
    ]);
    expect(flow.nodes.every((n) => n.draggable === false)).toBe(true);
  });

  it("has no rows for a port the job has not reported", () => {
    expect(portRows([nodeOf("orders")], "orders", "out")).toBeNull();
    expect(portRows([], "missing", "out")).toBeNull();
  });
});
