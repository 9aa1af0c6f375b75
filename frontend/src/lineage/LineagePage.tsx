import { Background, Controls, Handle, MiniMap, Position, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import type { EdgeMouseHandler, NodeMouseHandler, NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { errorSentence, isAbort } from "../api/errors";
import { catalogApi } from "../catalog/api";
import type { DatasetDetail, Direction, Impact, LineageGraph } from "../catalog/api";
import { ErrorMessages } from "../ui/Messages";
import { describeColumn, layoutGraph } from "./layout";
import type { DatasetFlowNode, PipelineFlowEdge } from "./layout";
import "./lineage.css";

const DatasetNode = memo(function DatasetNode({ data }: NodeProps<DatasetFlowNode>) {
  const { dataset, root, columns } = data;
  return (
    <div className={`lineage-node kind-${dataset.kind}${root ? " lineage-root" : ""}`} data-testid={`lineage-node-${dataset.id}`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="lineage-node-kind">{dataset.kind}</div>
      <div className="lineage-node-name" title={dataset.uri}>
        {dataset.name}
      </div>
      {columns.length > 0 && (
        <ul className="lineage-node-columns">
          {columns.map((column) => (
            <li key={column ?? "*rows*"}>{column ?? <em>rows</em>}</li>
          ))}
        </ul>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { dataset: DatasetNode };
const FIT_VIEW = { padding: 0.2, maxZoom: 1.2 };
const DEPTHS = ["", "1", "2", "3", "5"];

type Selection = { kind: "node"; id: number } | { kind: "edge"; edge: PipelineFlowEdge } | null;

export function LineagePage() {
  const { id } = useParams();
  const datasetId = Number(id);
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const direction = (params.get("direction") as Direction | null) ?? "both";
  const depth = params.get("depth") ?? "";
  const column = params.get("column") ?? "";

  const [dataset, setDataset] = useState<DatasetDetail | null>(null);
  const [graph, setGraph] = useState<LineageGraph | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selection, setSelection] = useState<Selection>(null);
  const [impact, setImpact] = useState<Impact | null>(null);
  const [impactError, setImpactError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    catalogApi.dataset(datasetId, controller.signal).then(setDataset, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [datasetId]);

  useEffect(() => {
    const controller = new AbortController();
    setError(null);
    setSelection(null);
    setImpact(null);
    catalogApi
      .lineage(datasetId, { direction, depth: depth ? Number(depth) : undefined, column: column || undefined }, controller.signal)
      .then(setGraph, (e: unknown) => {
        if (!isAbort(e)) setError(errorSentence(e));
      });
    return () => controller.abort();
  }, [datasetId, direction, depth, column]);

  const flow = useMemo(() => (graph ? layoutGraph(graph) : { nodes: [], edges: [] }), [graph]);
  const setParam = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };

  const onNodeClick: NodeMouseHandler<DatasetFlowNode> = (_, node) =>
    setSelection({ kind: "node", id: node.data.dataset.id });
  const onEdgeClick: EdgeMouseHandler<PipelineFlowEdge> = (_, edge) => setSelection({ kind: "edge", edge });

  const analyse = () => {
    if (!column) return;
    setImpactError(null);
    catalogApi.impact(datasetId, column).then(setImpact, (e: unknown) => setImpactError(errorSentence(e)));
  };

  const selected = selection?.kind === "node" ? graph?.datasets.find((d) => d.id === selection.id) : undefined;
  const presentColumns = dataset?.columns.filter((c) => c.present) ?? [];

  return (
    <main className="page lineage-page" data-testid="lineage-page">
      <div className="page-header">
        <h1>
          Lineage of{" "}
          <Link to={`/catalog/datasets/${datasetId}`} data-testid="lineage-dataset-link">
            {dataset?.uri ?? `dataset ${datasetId}`}
          </Link>
        </h1>
      </div>
      <div className="lineage-controls">
        <label className="inline-field">
          Direction
          <select value={direction} onChange={(e) => setParam("direction", e.target.value)} data-testid="lineage-direction">
            <option value="both">Upstream and downstream</option>
            <option value="upstream">Upstream</option>
            <option value="downstream">Downstream</option>
          </select>
        </label>
        <label className="inline-field">
          Depth
          <select value={depth} onChange={(e) => setParam("depth", e.target.value)} data-testid="lineage-depth">
            {DEPTHS.map((d) => (
              <option key={d} value={d}>
                {d ? `${d} pipeline${d === "1" ? "" : "s"}` : "Any"}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field">
          Column
          <select value={column} onChange={(e) => setParam("column", e.target.value)} data-testid="lineage-column">
            <option value="">Whole dataset</option>
            {presentColumns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!column} onClick={analyse} data-testid="impact-button">
          What breaks if this column is dropped?
        </button>
      </div>
      <ErrorMessages messages={[error, impactError].filter((m): m is string => m !== null)} />
      <div className="lineage-main">
        <div className="lineage-canvas" data-testid="lineage-canvas">
          {graph && (
            <ReactFlowProvider>
              <ReactFlow<DatasetFlowNode, PipelineFlowEdge>
                key={`${direction}-${depth}-${column}`}
                nodes={flow.nodes}
                edges={flow.edges}
                nodeTypes={nodeTypes}
                onNodeClick={onNodeClick}
                onEdgeClick={onEdgeClick}
                nodesConnectable={false}
                fitView
                fitViewOptions={FIT_VIEW}
                minZoom={0.2}
              >
                <Background gap={16} />
                <Controls showInteractive={false} />
                <MiniMap pannable zoomable />
              </ReactFlow>
            </ReactFlowProvider>
          )}
          {graph && graph.edges.length === 0 && (
            <p className="canvas-hint">No pipeline reads or writes this {column ? "column" : "dataset"} yet.</p>
          )}
        </div>
        <aside className="lineage-side" data-testid="lineage-side">
          {selected && (
            <section>
              <h2>{selected.name}</h2>
              <p className="muted">
                {selected.uri} · {selected.depth === 0 ? "the root" : selected.depth < 0 ? `${-selected.depth} upstream` : `${selected.depth} downstream`}
              </p>
              <p>
                <Link to={`/catalog/datasets/${selected.id}`}>Open in the catalog</Link> ·{" "}
                <button type="button" className="link-button" onClick={() => navigate(`/lineage/datasets/${selected.id}`)}>
                  Centre the lineage here
                </button>
              </p>
            </section>
          )}
          {selection?.kind === "edge" && selection.edge.data && (
            <section data-testid="lineage-edge-detail">
              <h2>{selection.edge.data.pipeline}</h2>
              <p>
                <Link to={`/pipelines/${selection.edge.data.pipelineId}`}>Open the pipeline</Link>
              </p>
              <ul className="lineage-columns">
                {selection.edge.data.columns.map((c, index) => (
                  <li key={index}>{describeColumn(c)}</li>
                ))}
              </ul>
            </section>
          )}
          {!selection && !impact && <p className="muted">Select a dataset or a pipeline arrow to see its details.</p>}
          {impact && <ImpactPanel impact={impact} />}
        </aside>
      </div>
    </main>
  );
}

function ImpactPanel({ impact }: { impact: Impact }) {
  const names = new Map<number, string>([
    [impact.dataset.id, impact.dataset.name],
    ...impact.columns.map((c) => [c.dataset.id, c.dataset.name] as [number, string]),
    ...impact.datasets.map((d) => [d.id, d.name] as [number, string]),
  ]);
  const datasetName = (id: number) => names.get(id) ?? `dataset ${id}`;
  return (
    <section className="impact" data-testid="impact-panel">
      <h2>
        Dropping {impact.dataset.name}.{impact.column}
      </h2>
      {impact.pipelines.length === 0 ? (
        <p>No pipeline uses it: nothing breaks.</p>
      ) : (
        <>
          <h3>Pipelines that break ({impact.pipelines.length})</h3>
          <ul data-testid="impact-pipelines">
            {impact.pipelines.map((p) => (
              <li key={p.id}>
                <Link to={`/pipelines/${p.id}`}>{p.name}</Link> (version {p.version}):{" "}
                {p.uses.map((u) => `${datasetName(u.dataset)}.${u.column} (${u.how})`).join(", ")}
              </li>
            ))}
          </ul>
          <h3>Columns made from it ({impact.columns.length})</h3>
          <ul>
            {impact.columns.map((c) => (
              <li key={`${c.dataset.id}-${c.column}`}>
                {c.dataset.name}.{c.column}
              </li>
            ))}
          </ul>
          <h3>Datasets no longer written ({impact.datasets.length})</h3>
          <ul data-testid="impact-datasets">
            {impact.datasets.map((d) => (
              <li key={`${d.id}-${d.node}`}>
                <Link to={`/catalog/datasets/${d.id}`}>{d.uri}</Link>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
