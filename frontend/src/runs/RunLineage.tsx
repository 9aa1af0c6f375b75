import { useEffect, useState } from "react";
import { Link } from "react-router";
import { ApiError } from "../api/client";
import { errorSentence, isAbort } from "../api/errors";
import type { RunStatus } from "../api/types";
import { catalogApi } from "../catalog/api";
import type { LineageRecord } from "../catalog/api";
import { formatCount } from "../ui/format";

/** The datasets a run read and wrote, each a link to its lineage graph, and the way to the run's quality page. */
export function RunDatasets({ runId, record, message }: { runId: number; record: LineageRecord | null; message: string | null }) {
  const reads = record?.datasets.filter((d) => d.direction === "input") ?? [];
  const writes = record?.datasets.filter((d) => d.direction === "output") ?? [];
  return (
    <div className="run-lineage" data-testid="run-lineage">
      {record === null && <p className="muted small">{message ?? "Loading its lineage…"}</p>}
      {[
        { title: "Reads", datasets: reads },
        { title: "Writes", datasets: writes },
      ].map(({ title, datasets }) =>
        datasets.length === 0 ? null : (
          <div key={title}>
            <h3>{title}</h3>
            <ul className="plain-list">
              {datasets.map((d) => (
                <li key={`${d.direction}-${d.node}`}>
                  <Link to={`/lineage/datasets/${d.id}`} data-testid="run-lineage-dataset" data-uri={d.uri} title="Its lineage graph">
                    {d.uri}
                  </Link>{" "}
                  <span className="muted small">
                    ({d.node}
                    {d.rows !== null && `, ${formatCount(d.rows)} rows`})
                  </span>
                </li>
              ))}
            </ul>
          </div>
        ),
      )}
      <p>
        <Link to={`/runs/${runId}/quality`} data-testid="run-quality-link">
          Quality rules, datasets and OpenLineage events of this run
        </Link>
      </p>
    </div>
  );
}

/** While a running run's lineage is not there yet (it is recorded just after the move), ask again this often. */
const RETRY_MS = 2000;

/**
 * The run's lineage record (`GET /api/runs/{id}/lineage/`), read again as the run moves (its job
 * records it once it runs, and its row counts as it finishes).
 */
export function RunLineage({ runId, status }: { runId: number; status: RunStatus }) {
  const [record, setRecord] = useState<LineageRecord | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    catalogApi.runLineage(runId, controller.signal).then(
      (found) => {
        setRecord(found);
        setMessage(null);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        const missing = e instanceof ApiError && e.status === 404;
        setMessage(missing ? "Recorded when its job starts." : errorSentence(e));
        if (missing && status === "running") timer = setTimeout(() => setAttempt((n) => n + 1), RETRY_MS);
      },
    );
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [runId, status, attempt]);

  return <RunDatasets runId={runId} record={record} message={message} />;
}
