import { applyEdgeChanges, applyNodeChanges } from "@xyflow/react";
import type { Connection, EdgeChange, NodeChange } from "@xyflow/react";
import { create } from "zustand";
import type { StateCreator } from "zustand";
import type { JsonObject } from "../api/types";
import { NODE_SPECS } from "./model/catalog";
import type { NodeType } from "./model/catalog";
import { EMPTY_DIAGNOSTICS } from "./model/diagnostics";
import type { DiagnosticsIndex } from "./model/diagnostics";
import type { DocumentMeta, PipelineDocument, PipelineMode, PipelineParameter, Position } from "./model/document";
import { addConnection, documentToFlow, flowToDocument, renameInGraph, toFlowNode } from "./model/flow";
import type { PipelineFlowEdge, PipelineFlowNode } from "./model/flow";
import { generateNodeId, nodeIdProblem } from "./model/ids";

export interface EditorState {
  pipelineId: number | null;
  /** The version the editor loaded or last saved; sent as `base_version`. */
  baseVersion: number | null;
  meta: DocumentMeta;
  nodes: PipelineFlowNode[];
  edges: PipelineFlowEdge[];
  /** Bumped by every change to the document (not by selection or measuring). */
  revision: number;
  /** The revision that matches `baseVersion` on the server. */
  savedRevision: number;
  diagnostics: DiagnosticsIndex;

  load: (pipelineId: number, document: PipelineDocument, baseVersion: number | null) => void;
  /** Replaces the graph with another document as unsaved work, keeping the base version. */
  restore: (document: PipelineDocument) => void;
  markSaved: (version: number, revision: number) => void;
  onNodesChange: (changes: NodeChange<PipelineFlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<PipelineFlowEdge>[]) => void;
  onConnect: (connection: Connection) => void;
  addNode: (type: NodeType, position: Position) => string;
  updateConfig: (id: string, config: JsonObject) => void;
  updateLabel: (id: string, label: string) => void;
  /** Renames a node and its edges; answers the reason when the new id cannot be used. */
  renameNode: (oldId: string, newId: string) => string | null;
  selectNode: (id: string | null) => void;
  setMode: (mode: PipelineMode) => void;
  setDescription: (description: string) => void;
  setParameters: (parameters: PipelineParameter[]) => void;
  setDiagnostics: (diagnostics: DiagnosticsIndex) => void;
}

const EMPTY_META: DocumentMeta = { name: "", description: "", mode: "batch", parameters: [] };

const DOCUMENT_NODE_CHANGES = new Set(["position", "remove", "add", "replace"]);
const DOCUMENT_EDGE_CHANGES = new Set(["remove", "add", "replace"]);

export const editorStoreInitializer: StateCreator<EditorState> = (set, get) => {
  const changeDocument = (patch: Partial<EditorState>) =>
    set((state) => ({ ...patch, revision: state.revision + 1 }));

  const graphFrom = (document: PipelineDocument) => {
    const graph = documentToFlow(document);
    return { meta: graph.meta, nodes: graph.nodes, edges: graph.edges };
  };

  return {
    pipelineId: null,
    baseVersion: null,
    meta: EMPTY_META,
    nodes: [],
    edges: [],
    revision: 0,
    savedRevision: 0,
    diagnostics: EMPTY_DIAGNOSTICS,

    load: (pipelineId, document, baseVersion) =>
      set((state) => {
        const revision = state.revision + 1;
        return {
          ...graphFrom(document),
          pipelineId,
          baseVersion,
          revision,
          savedRevision: revision,
          diagnostics: EMPTY_DIAGNOSTICS,
        };
      }),

    restore: (document) =>
      changeDocument({ ...graphFrom({ ...document, name: get().meta.name }), diagnostics: EMPTY_DIAGNOSTICS }),

    markSaved: (version, revision) => set({ baseVersion: version, savedRevision: revision }),

    onNodesChange: (changes) => {
      const nodes = applyNodeChanges(changes, get().nodes);
      const removed = new Set(changes.flatMap((c) => (c.type === "remove" ? [c.id] : [])));
      const edges =
        removed.size > 0
          ? get().edges.filter((e) => !removed.has(e.source) && !removed.has(e.target))
          : get().edges;
      if (changes.some((c) => DOCUMENT_NODE_CHANGES.has(c.type))) changeDocument({ nodes, edges });
      else set({ nodes });
    },

    onEdgesChange: (changes) => {
      const edges = applyEdgeChanges(changes, get().edges);
      if (changes.some((c) => DOCUMENT_EDGE_CHANGES.has(c.type))) changeDocument({ edges });
      else set({ edges });
    },

    onConnect: (connection) => {
      const { nodes, edges } = get();
      const next = addConnection(connection, nodes, edges);
      if (next !== edges) changeDocument({ edges: next });
    },

    addNode: (type, position) => {
      const { nodes } = get();
      const id = generateNodeId(
        type,
        nodes.map((n) => n.id),
      );
      const node: PipelineFlowNode = {
        ...toFlowNode({ id, type, config: NODE_SPECS[type].defaultConfig() }, position),
        selected: true,
      };
      changeDocument({ nodes: [...nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
      return id;
    },

    updateConfig: (id, config) =>
      changeDocument({
        nodes: get().nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, config } } : n)),
      }),

    updateLabel: (id, label) =>
      changeDocument({
        nodes: get().nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, label } } : n)),
      }),

    renameNode: (oldId, newId) => {
      const { nodes, edges } = get();
      const problem = nodeIdProblem(
        newId,
        nodes.map((n) => n.id),
        oldId,
      );
      if (problem) return problem;
      if (oldId === newId) return null;
      changeDocument(renameInGraph(nodes, edges, oldId, newId));
      return null;
    },

    selectNode: (id) =>
      set((state) => ({
        nodes: state.nodes.map((n) => (n.selected === (n.id === id) ? n : { ...n, selected: n.id === id })),
        edges: state.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      })),

    setMode: (mode) => changeDocument({ meta: { ...get().meta, mode } }),
    setDescription: (description) => changeDocument({ meta: { ...get().meta, description } }),
    setParameters: (parameters) => changeDocument({ meta: { ...get().meta, parameters } }),
    setDiagnostics: (diagnostics) => set({ diagnostics }),
  };
};

export const useEditorStore = create<EditorState>()(editorStoreInitializer);

/** The document for the current graph. */
export function selectDocument(state: Pick<EditorState, "meta" | "nodes" | "edges">): PipelineDocument {
  return flowToDocument({ meta: state.meta, nodes: state.nodes, edges: state.edges });
}

export function selectIsDirty(state: Pick<EditorState, "revision" | "savedRevision">): boolean {
  return state.revision !== state.savedRevision;
}

export function selectSelectedNode(state: Pick<EditorState, "nodes">): PipelineFlowNode | null {
  return state.nodes.find((n) => n.selected) ?? null;
}
