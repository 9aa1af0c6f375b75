import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { errorSentence, isAbort } from "../api/errors";
import { formatCount, formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { catalogApi } from "./api";
import type { LineageRecord, OpenLineageEventRecord, RunQualityNode } from "./api";
import "./catalog.css";

/** What a run checked, read and wrote: its quality rules' counts with the quarantined rows' datasets,
 * the datasets it read and wrote (with rows), and the OpenLineage events the studio sent for it. */
export function RunQualityPage() {
  const { id } = useParams();
  const runId = Number(id);
  const [quality, setQuality] = useState<RunQualityNode[] | null>(null);
  const [lineage, setLineage] = useState<LineageRecord | null>(null);
  const [events, setEvents] = useState<OpenLineageEventRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    const fail = (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    };
    catalogApi.runQuality(runId, controller.signal).then(setQuality, fail);
    catalogApi.runOpenLineage(runId, controller.signal).then(setEvents, fail);
    // A run that has not started has no lineage yet: that is not an error for this page.
    catalogApi.runLineage(runId, controller.signal).then(setLineage, () => setLineage(null));
    return () => controller.abort();
  }, [runId]);

  return (
    <main className="page" data-testid="run-quality-page">
      <div className="page-header">
        <div>
          <Link to={`/runs/${runId}`} className="back-link">
            ← Run {runId}
          </Link>
          <h1>Quality and lineage of run {runId}</h1>
        </div>
      </div>
      <ErrorMessages messages={error ? [error] : []} />
      <section className="subsection">
        <h2>Quality rules</h2>
        {quality && quality.length === 0 && <p className="muted">This pipeline has no transform.quality node.</p>}
        {quality?.map((node) => (
          <div key={node.node} data-testid="quality-node">
            <h3>{node.label ?? node.node}</h3>
            <table className="table" data-testid="quality-rules">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Expression</th>
                  <th>On fail</th>
                  <th className="numeric">Passed</th>
                  <th className="numeric">Failed</th>
                </tr>
              </thead>
              <tbody>
                {node.rules.map((r) => (
                  <tr key={r.rule} data-testid="quality-rule" data-rule={r.rule}>
                    <td>{r.rule}</td>
                    <td>
                      <code>{r.expression}</code>
                    </td>
                    <td>{r.on_fail}</td>
                    <td className="numeric">{r.passed === null ? "" : formatCount(r.passed)}</td>
                    <td className={`numeric${r.failed ? " rule-failed-count" : ""}`}>
                      {r.failed === null ? "" : formatCount(r.failed)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {node.quarantine.length > 0 && (
              <p>
                Quarantined rows:{" "}
                {node.quarantine.map((q) => (
                  <Link key={q.id} to={`/catalog/datasets/${q.id}`} className="quarantine-link" data-testid="quarantine-link">
                    {q.uri}
                  </Link>
                ))}
              </p>
            )}
          </div>
        ))}
      </section>
      {lineage && (
        <section className="subsection" data-testid="run-datasets">
          <h2>Datasets</h2>
          <table className="table">
            <thead>
              <tr>
                <th>Node</th>
                <th>Direction</th>
                <th>Dataset</th>
                <th className="numeric">Rows</th>
              </tr>
            </thead>
            <tbody>
              {lineage.datasets.map((d) => (
                <tr key={d.node}>
                  <td>{d.node}</td>
                  <td>{d.direction === "input" ? "reads" : "writes"}</td>
                  <td>
                    <Link to={`/catalog/datasets/${d.id}`}>{d.uri}</Link>
                  </td>
                  <td className="numeric">{d.rows === null ? "" : formatCount(d.rows)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="subsection" data-testid="openlineage-events">
        <h2>OpenLineage events</h2>
        {events && events.length === 0 && <p className="muted">None sent (the run has not started, or sending is off).</p>}
        {events?.map((e, index) => (
          <details key={index} data-testid="openlineage-event">
            <summary>
              <strong>{e.event_type}</strong> via {e.transport} at {formatDateTime(e.emitted_at)}
              {e.error && <span className="field-error"> {e.error}</span>}
            </summary>
            <pre className="event-json">{JSON.stringify(e.event, null, 2)}</pre>
          </details>
        ))}
      </section>
    </main>
  );
}
