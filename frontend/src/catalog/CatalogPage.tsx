import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { errorSentence, isAbort } from "../api/errors";
import { useMe } from "../auth/session";
import { formatCount, formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { catalogApi } from "./api";
import type { DatasetKind, DatasetSummary } from "./api";
import { formatBytes } from "./format";
import "./catalog.css";

const FILTERS = ["q", "tag", "column", "kind"] as const;
type Filter = (typeof FILTERS)[number];

/** Search the catalog: by name or description, tag, column and kind, within a workspace. */
export function CatalogPage() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const slugs = me.workspaces.map((w) => w.slug);
  const requested = params.get("workspace");
  const workspace = requested && slugs.includes(requested) ? requested : (slugs[0] ?? "");
  const applied: Record<Filter, string> = {
    q: params.get("q") ?? "",
    tag: params.get("tag") ?? "",
    column: params.get("column") ?? "",
    kind: params.get("kind") ?? "",
  };
  const [draft, setDraft] = useState(applied);
  const [datasets, setDatasets] = useState<DatasetSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!workspace) return;
    const controller = new AbortController();
    setError(null);
    setDatasets(null);
    const filters = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) ?? ""]));
    catalogApi
      .datasets({ ...filters, workspace, kind: (params.get("kind") ?? "") as DatasetKind | "" }, controller.signal)
      .then(setDatasets, (e: unknown) => {
        if (!isAbort(e)) setError(errorSentence(e));
      });
    return () => controller.abort();
  }, [workspace, params]);

  const search = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams({ workspace });
    for (const key of FILTERS) if (draft[key].trim()) next.set(key, draft[key].trim());
    setParams(next);
  };

  return (
    <main className="page catalog-page" data-testid="catalog-page">
      <div className="page-header">
        <h1>Catalog</h1>
        <label className="inline-field">
          Workspace
          <select value={workspace} onChange={(e) => setParams({ workspace: e.target.value })} data-testid="catalog-workspace">
            {me.workspaces.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <form className="catalog-search" onSubmit={search} role="search">
        <label className="stacked-field">
          Name or description
          <input value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} data-testid="catalog-q" />
        </label>
        <label className="stacked-field">
          Tag
          <input value={draft.tag} onChange={(e) => setDraft({ ...draft, tag: e.target.value })} data-testid="catalog-tag" />
        </label>
        <label className="stacked-field">
          Column
          <input
            value={draft.column}
            onChange={(e) => setDraft({ ...draft, column: e.target.value })}
            data-testid="catalog-column"
          />
        </label>
        <label className="stacked-field">
          Kind
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })} data-testid="catalog-kind">
            <option value="">Any</option>
            <option value="file">File location</option>
            <option value="kafka">Kafka topic</option>
            <option value="iceberg">Iceberg table</option>
          </select>
        </label>
        <button type="submit" className="primary" data-testid="catalog-search">
          Search
        </button>
      </form>
      <ErrorMessages messages={error ? [error] : []} />
      {datasets === null && !error && <p className="muted">Loading datasets…</p>}
      {datasets !== null && datasets.length === 0 && (
        <p className="muted" data-testid="catalog-empty">
          No dataset matches. Datasets appear here when a pipeline that reads or writes them is saved.
        </p>
      )}
      {datasets !== null && datasets.length > 0 && (
        <table className="table" data-testid="catalog-table">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Kind</th>
              <th>Tags</th>
              <th>Owner</th>
              <th className="numeric">Rows</th>
              <th className="numeric">Size</th>
              <th>Last update</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((d) => (
              <tr key={d.id} data-testid="catalog-row" data-uri={d.uri}>
                <td>
                  <Link to={`/catalog/datasets/${d.id}`} className="strong">
                    {d.name}
                  </Link>
                  <div className="muted small">{d.description || d.uri}</div>
                </td>
                <td>
                  {d.kind}
                  {d.format && <span className="muted"> ({d.format})</span>}
                </td>
                <td>
                  {d.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </td>
                <td>{d.owner ?? <span className="muted">none</span>}</td>
                <td className="numeric">{d.row_count === null ? "" : formatCount(d.row_count)}</td>
                <td className="numeric">{formatBytes(d.size_bytes)}</td>
                <td>{formatDateTime(d.last_updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
