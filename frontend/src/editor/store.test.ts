import { describe, expect, it } from "vitest";
import { createStore } from "zustand/vanilla";
import { documentToJson, parseDocument } from "./model/document";
import { editorStoreInitializer, selectDocument, selectIsDirty, selectSelectedNode } from "./store";
import type { EditorState } from "./store";

function freshStore() {
  const store = createStore<EditorState>(editorStoreInitializer);
  store.getState().load(7, parseDocument(null, "orders_daily"), null);
  return store;
}

describe("editor store", () => {
  it("adds nodes with generated ids at the drop position and selects the new one", () => {
    const store = freshStore();
    const first = store.getState().addNode("transform.filter", { x: 100, y: 50 });
    const second = store.getState().addNode("transform.filter", { x: 300, y: 50 });
    expect([first, second]).toEqual(["filter", "filter_2"]);
    expect(selectSelectedNode(store.getState())?.id).toBe("filter_2");
    expect(store.getState().nodes.filter((n) => n.selected)).toHaveLength(1);
    expect(selectDocument(store.getState()).nodes[0]).toEqual({
      id: "filter",
      type: "transform.filter",
      config: {},
      position: { x: 100, y: 50 },
    });
  });

  it("tracks unsaved changes against the last save", () => {
    const store = freshStore();
    expect(selectIsDirty(store.getState())).toBe(false);
    store.getState().addNode("source.file", { x: 0, y: 0 });
    expect(selectIsDirty(store.getState())).toBe(true);
    const revision = store.getState().revision;
    store.getState().markSaved(1, revision);
    expect(selectIsDirty(store.getState())).toBe(false);
    expect(store.getState().baseVersion).toBe(1);
  });

  it("does not count selection or measuring as a change", () => {
    const store = freshStore();
    const id = store.getState().addNode("source.file", { x: 0, y: 0 });
    store.getState().markSaved(1, store.getState().revision);
    store.getState().selectNode(null);
    store.getState().onNodesChange([{ type: "select", id, selected: true }]);
    store.getState().onNodesChange([{ type: "dimensions", id, dimensions: { width: 180, height: 60 } }]);
    expect(selectIsDirty(store.getState())).toBe(false);
    store.getState().onNodesChange([{ type: "position", id, position: { x: 40, y: 40 } }]);
    expect(selectIsDirty(store.getState())).toBe(true);
  });

  it("connects ports, renames a node with its edges, and removes edges with a deleted node", () => {
    const store = freshStore();
    const src = store.getState().addNode("source.file", { x: 0, y: 0 });
    const filter = store.getState().addNode("transform.filter", { x: 200, y: 0 });
    const sink = store.getState().addNode("sink.file", { x: 400, y: 0 });
    store.getState().onConnect({ source: src, sourceHandle: "out", target: filter, targetHandle: "in" });
    store.getState().onConnect({ source: filter, sourceHandle: "out", target: sink, targetHandle: "in" });
    store.getState().onConnect({ source: sink, sourceHandle: "out", target: src, targetHandle: "in" });
    expect(store.getState().edges).toHaveLength(2);

    expect(store.getState().renameNode(filter, "Bad Id")).toMatch(/lowercase letter/);
    expect(store.getState().renameNode(filter, src)).toMatch(/already has the id/);
    expect(store.getState().renameNode(filter, "big_orders")).toBeNull();
    expect(selectDocument(store.getState()).edges).toEqual([
      { from: { node: "source_file", port: "out" }, to: { node: "big_orders", port: "in" } },
      { from: { node: "big_orders", port: "out" }, to: { node: "sink_file", port: "in" } },
    ]);

    store.getState().onNodesChange([{ type: "remove", id: "big_orders" }]);
    expect(store.getState().edges).toEqual([]);
    expect(store.getState().nodes.map((n) => n.id)).toEqual(["source_file", "sink_file"]);
  });

  it("updates config and label, and restores a version as unsaved work on the same base", () => {
    const store = freshStore();
    const id = store.getState().addNode("transform.filter", { x: 0, y: 0 });
    store.getState().updateConfig(id, { condition: "amount > 1" });
    store.getState().updateLabel(id, "Big orders");
    store.getState().markSaved(3, store.getState().revision);
    expect(documentToJson(selectDocument(store.getState()))["nodes"]).toEqual([
      { id: "filter", type: "transform.filter", label: "Big orders", config: { condition: "amount > 1" }, position: { x: 0, y: 0 } },
    ]);

    store.getState().restore(parseDocument({ format: "studio.pipeline/v1", name: "old_name", mode: "streaming", nodes: [], edges: [] }, "x"));
    expect(store.getState().baseVersion).toBe(3);
    expect(selectIsDirty(store.getState())).toBe(true);
    expect(selectDocument(store.getState())).toMatchObject({ name: "orders_daily", mode: "streaming", nodes: [] });
  });
});
