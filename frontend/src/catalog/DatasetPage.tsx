import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link, useParams } from "react-router";
import { errorSentence, errorSentences, isAbort } from "../api/errors";
import { formatCount, formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { CLASSIFICATIONS, catalogApi } from "./api";
import type { Classification, DatasetDetail, DatasetQualityRun, DatasetUpdate, PipelineUse, RowsPage } from "./api";
import { formatBytes, formatCell, parseTags } from "./format";
import "./catalog.css";

const PAGE = 25;
const SOURCES: Record<string, string> = {
  declared: "declared by a saved pipeline",
  written: "written by a run",
  observed: "read from the data",
};

/** A dataset's page: facts, curation, columns and classifications, sample rows (PII masked),
 * quality history, schema history and Iceberg snapshots. */
export function DatasetPage() {
  const { id } = useParams();
  const datasetId = Number(id);
  const [dataset, setDataset] = useState<DatasetDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [messages, setMessages] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    catalogApi.dataset(datasetId, controller.signal).then(setDataset, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [datasetId]);

  const change = async (work: () => Promise<DatasetDetail>, done: string) => {
    setBusy(true);
    setMessages([]);
    setNotice(null);
    try {
      setDataset(await work());
      setNotice(done);
    } catch (e) {
      setMessages(errorSentences(e));
    } finally {
      setBusy(false);
    }
  };

  if (error) {
    return (
      <main className="page">
        <ErrorMessages messages={[error]} />
        <Link to="/catalog">Back to the catalog</Link>
      </main>
    );
  }
  if (!dataset) return <p className="page-message">Loading…</p>;

  return (
    <main className="page dataset-page" data-testid="dataset-page">
      <div className="page-header">
        <div>
          <Link to={`/catalog?workspace=${dataset.workspace}`} className="back-link">
            ← Catalog
          </Link>
          <h1 data-testid="dataset-name">{dataset.name}</h1>
          <div className="muted">
            {dataset.uri} · {dataset.kind}
            {dataset.format && ` (${dataset.format})`}
          </div>
        </div>
        <span className="spacer" />
        <Link to={`/lineage/datasets/${dataset.id}`} className="button-link" data-testid="dataset-lineage">
          Lineage
        </Link>
        {dataset.can_edit && (
          <button
            type="button"
            disabled={busy}
            data-testid="dataset-refresh"
            onClick={() => void change(() => catalogApi.refresh(dataset.id), "Looked at the data again.")}
          >
            Refresh
          </button>
        )}
      </div>
      <ErrorMessages messages={messages} testId="dataset-errors" />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <Facts dataset={dataset} />
      <Curation dataset={dataset} busy={busy} onSave={(body) => change(() => catalogApi.update(dataset.id, body), "Saved.")} />
      <Columns dataset={dataset} busy={busy} onSave={(body) => change(() => catalogApi.update(dataset.id, body), "Columns saved.")} />
      <Uses dataset={dataset} />
      <Rows dataset={dataset} />
      <QualityHistory datasetId={dataset.id} />
      <SchemaHistory dataset={dataset} />
      {dataset.kind === "iceberg" && <Snapshots dataset={dataset} />}
    </main>
  );
}

function Facts({ dataset }: { dataset: DatasetDetail }) {
  return (
    <dl className="facts" data-testid="dataset-facts">
      <dt>Rows</dt>
      <dd data-testid="dataset-rows">{dataset.row_count === null ? "unknown" : formatCount(dataset.row_count)}</dd>
      <dt>Size</dt>
      <dd>{formatBytes(dataset.size_bytes) || "unknown"}</dd>
      <dt>Last update</dt>
      <dd>{formatDateTime(dataset.last_updated_at) || "never written by a run"}</dd>
      <dt>Looked at</dt>
      <dd>
        {formatDateTime(dataset.refreshed_at) || "never"}
        {dataset.refresh_error && (
          <span className="field-error" data-testid="dataset-refresh-error">
            {" "}
            {dataset.refresh_error}
          </span>
        )}
      </dd>
      <dt>Schema</dt>
      <dd>{SOURCES[dataset.schema_source] ?? "unknown"}</dd>
    </dl>
  );
}

function Curation({
  dataset,
  busy,
  onSave,
}: {
  dataset: DatasetDetail;
  busy: boolean;
  onSave: (body: DatasetUpdate) => Promise<void>;
}) {
  const [description, setDescription] = useState(dataset.description);
  const [owner, setOwner] = useState(dataset.owner ?? "");
  const [tags, setTags] = useState(dataset.tags.join(", "));
  useEffect(() => {
    setDescription(dataset.description);
    setOwner(dataset.owner ?? "");
    setTags(dataset.tags.join(", "));
  }, [dataset]);

  if (!dataset.can_edit) {
    return (
      <section className="subsection" data-testid="dataset-curation">
        <p>{dataset.description || <span className="muted">No description.</span>}</p>
        <p>
          Owner: {dataset.owner ?? <span className="muted">none</span>} · Tags:{" "}
          {dataset.tags.length ? dataset.tags.map((t) => <span key={t} className="tag">{t}</span>) : <span className="muted">none</span>}
        </p>
      </section>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void onSave({ description, owner: owner.trim() || null, tags: parseTags(tags) });
  };
  return (
    <form className="subsection curation" onSubmit={submit} data-testid="dataset-curation">
      <label className="stacked-field">
        Description
        <textarea value={description} rows={2} onChange={(e) => setDescription(e.target.value)} data-testid="dataset-description" />
      </label>
      <div className="row">
        <label className="stacked-field">
          Owner (username)
          <input value={owner} onChange={(e) => setOwner(e.target.value)} data-testid="dataset-owner" />
        </label>
        <label className="stacked-field">
          Tags (comma or space separated)
          <input value={tags} onChange={(e) => setTags(e.target.value)} data-testid="dataset-tags" />
        </label>
        <button type="submit" className="primary" disabled={busy} data-testid="dataset-save">
          Save
        </button>
      </div>
    </form>
  );
}

function Columns({
  dataset,
  busy,
  onSave,
}: {
  dataset: DatasetDetail;
  busy: boolean;
  onSave: (body: DatasetUpdate) => Promise<void>;
}) {
  type Draft = { classification: Classification; description: string };
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  useEffect(() => setDrafts({}), [dataset]);
  const canClassify = dataset.can_edit && dataset.can_view_pii;
  const value = (name: string, original: Draft): Draft => drafts[name] ?? original;
  const changed = Object.keys(drafts);

  return (
    <section className="subsection">
      <h2>Columns</h2>
      {dataset.can_edit && !dataset.can_view_pii && (
        <p className="muted small">Classifying columns needs the PII permission in this workspace.</p>
      )}
      <table className="table" data-testid="dataset-columns">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Classification</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {dataset.columns.map((c) => {
            const current = value(c.name, { classification: c.classification, description: c.description });
            const edit = (patch: Partial<Draft>) => setDrafts({ ...drafts, [c.name]: { ...current, ...patch } });
            return (
              <tr key={c.name} data-testid="dataset-column" data-column={c.name} className={c.present ? "" : "muted"}>
                <td>
                  <code>{c.name}</code>
                  {!c.present && <span className="small"> (no longer in the schema)</span>}
                </td>
                <td>
                  <code>{c.type}</code>
                  {!c.nullable && <span className="muted small"> not null</span>}
                </td>
                <td>
                  {canClassify ? (
                    <select
                      value={current.classification}
                      onChange={(e) => edit({ classification: e.target.value as Classification })}
                      data-testid={`classify-${c.name}`}
                    >
                      {CLASSIFICATIONS.map((k) => (
                        <option key={k} value={k}>
                          {k || "—"}
                        </option>
                      ))}
                    </select>
                  ) : (
                    c.classification && <span className={`tag classification-${c.classification}`}>{c.classification}</span>
                  )}
                </td>
                <td>
                  {dataset.can_edit ? (
                    <input value={current.description} onChange={(e) => edit({ description: e.target.value })} />
                  ) : (
                    c.description
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {dataset.can_edit && (
        <button
          type="button"
          disabled={busy || changed.length === 0}
          data-testid="columns-save"
          onClick={() =>
            void onSave({
              columns: changed.map((name) => {
                const draft = drafts[name] as Draft;
                return canClassify ? { name, ...draft } : { name, description: draft.description };
              }),
            })
          }
        >
          Save columns
        </button>
      )}
    </section>
  );
}

function PipelineList({ title, uses, testId }: { title: string; uses: PipelineUse[]; testId: string }) {
  if (uses.length === 0) return null;
  return (
    <p data-testid={testId}>
      {title}:{" "}
      {uses.map((u, index) => (
        <span key={`${u.id}-${u.node}`}>
          {index > 0 && ", "}
          <Link to={`/pipelines/${u.id}`}>{u.name}</Link> <span className="muted">({u.node})</span>
        </span>
      ))}
    </p>
  );
}

function Uses({ dataset }: { dataset: DatasetDetail }) {
  return (
    <section className="subsection">
      <h2>Pipelines</h2>
      <PipelineList title="Written by" uses={dataset.producers} testId="dataset-producers" />
      <PipelineList title="Read by" uses={dataset.consumers} testId="dataset-consumers" />
      <PipelineList title="Quarantined rows of" uses={dataset.quarantine_of} testId="dataset-quarantine-of" />
      {dataset.producers.length + dataset.consumers.length === 0 && (
        <p className="muted">No pipeline's latest version reads or writes it.</p>
      )}
    </section>
  );
}

function Rows({ dataset }: { dataset: DatasetDetail }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<RowsPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    (signal?: AbortSignal) => {
      setError(null);
      catalogApi.rows(dataset.id, offset, PAGE, signal).then(setPage, (e: unknown) => {
        if (!isAbort(e)) {
          setPage(null);
          setError(errorSentence(e));
        }
      });
    },
    [dataset.id, offset],
  );
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal);
    return () => controller.abort();
  }, [load, dataset.refreshed_at]);

  return (
    <section className="subsection" data-testid="dataset-sample">
      <h2>Rows</h2>
      {error && <p className="muted">{error}</p>}
      {page && page.masked.length > 0 && (
        <p className="notice" data-testid="masked-notice">
          Masked (PII, you do not have the PII permission): {page.masked.join(", ")}
        </p>
      )}
      {page && page.rows.length === 0 && <p className="muted">No rows here.</p>}
      {page && page.rows.length > 0 && (
        <div className="scroll-x">
          <table className="table rows-table" data-testid="rows-table">
            <thead>
              <tr>
                {page.columns.map((c) => (
                  <th key={c.name}>{c.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {page.rows.map((row, index) => (
                <tr key={offset + index}>
                  {page.columns.map((c) => {
                    const text = formatCell(row[c.name]);
                    return <td key={c.name}>{text === null ? <em className="muted">NULL</em> : text}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page && (offset > 0 || page.has_more) && (
        <div className="row">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span className="muted">
            Rows {offset + 1}–{offset + page.rows.length}
          </span>
          <button type="button" disabled={!page.has_more} onClick={() => setOffset(offset + PAGE)} data-testid="rows-next">
            Next
          </button>
        </div>
      )}
    </section>
  );
}

function QualityHistory({ datasetId }: { datasetId: number }) {
  const [history, setHistory] = useState<DatasetQualityRun[] | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    catalogApi.quality(datasetId, controller.signal).then(setHistory, () => setHistory([]));
    return () => controller.abort();
  }, [datasetId]);
  if (!history || history.length === 0) return null;
  return (
    <section className="subsection" data-testid="dataset-quality">
      <h2>Quality history</h2>
      <table className="table">
        <thead>
          <tr>
            <th>Run</th>
            <th>Finished</th>
            <th className="numeric">Rows written</th>
            <th>Rules (passed / failed)</th>
          </tr>
        </thead>
        <tbody>
          {history.map((h) => (
            <tr key={`${h.run}-${h.node}`} data-testid="quality-run">
              <td>
                <Link to={`/runs/${h.run}/quality`}>
                  {h.pipeline_name} #{h.run}
                </Link>{" "}
                <span className="muted">{h.status}</span>
              </td>
              <td>{formatDateTime(h.finished_at)}</td>
              <td className="numeric">{h.rows === null ? "" : formatCount(h.rows)}</td>
              <td>
                {h.rules.map((r) => (
                  <span key={`${r.node}-${r.rule}`} className={`rule ${r.failed > 0 ? "rule-failed" : "rule-passed"}`}>
                    {r.rule} {formatCount(r.passed)} / {formatCount(r.failed)}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function SchemaHistory({ dataset }: { dataset: DatasetDetail }) {
  if (dataset.schema_versions.length === 0) return null;
  return (
    <section className="subsection" data-testid="schema-history">
      <h2>Schema history</h2>
      <ol className="schema-history" reversed>
        {dataset.schema_versions.map((v) => (
          <li key={v.number} data-testid="schema-version">
            <strong>#{v.number}</strong> {SOURCES[v.source]} · {formatDateTime(v.created_at)}
            {v.pipeline !== null && (
              <>
                {" "}
                · <Link to={`/pipelines/${v.pipeline}`}>pipeline version {v.pipeline_version}</Link>
              </>
            )}
            {v.run !== null && (
              <>
                {" "}
                · <Link to={`/runs/${v.run}`}>run {v.run}</Link>
              </>
            )}
            <div className="small">
              {v.schema.map((c) => (
                <code key={c.name} className="schema-column">
                  {c.name} {c.type}
                </code>
              ))}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Snapshots({ dataset }: { dataset: DatasetDetail }) {
  return (
    <section className="subsection" data-testid="dataset-snapshots">
      <h2>Snapshots</h2>
      {dataset.snapshots.length === 0 ? (
        <p className="muted">No snapshot seen yet: refresh to read the table's metadata.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Snapshot</th>
              <th>Committed</th>
              <th>Operation</th>
              <th className="numeric">Added rows</th>
              <th className="numeric">Total rows</th>
            </tr>
          </thead>
          <tbody>
            {dataset.snapshots.map((s) => (
              <tr key={s.snapshot_id} data-testid="snapshot-row">
                <td>
                  <code>{s.snapshot_id}</code>
                </td>
                <td>{formatDateTime(s.committed_at)}</td>
                <td>{s.operation}</td>
                <td className="numeric">{s.summary["added-records"] ?? ""}</td>
                <td className="numeric">{s.summary["total-records"] ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
