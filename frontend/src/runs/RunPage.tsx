import { useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { Run } from "../api/types";
import { parseDocument } from "../editor/model/document";
import type { PipelineDocument } from "../editor/model/document";
import { formatDateTime, formatDuration } from "../ui/format";
import { ParameterFacts } from "./ParameterFields";
import { CancelRunButton, ConnectionStatus, LiveLogTail } from "./RunControls";
import { RunAlerts } from "./RunAlerts";
import { RunGraph } from "./RunGraph";
import { LiveHeartbeat } from "./RunHeartbeat";
import { RunLineage } from "./RunLineage";
import { RunProgress } from "./RunProgress";
import { RunStatusBadge } from "./RunStatusBadge";
import { RunTimeline } from "./RunTimeline";
import { StreamCharts } from "./StreamCharts";
import type { RunLiveStore } from "./runLive";
import { isTerminal } from "./status";
import { useRunLive, useRunState } from "./useRunLive";
import { useStreamProgress } from "./useStreamProgress";

/** `/runs/:id`: one run, live. */
export function RunPage() {
  const runId = Number(useParams()["id"]);
  if (!Number.isInteger(runId) || runId <= 0) {
    return (
      <div className="page-message" role="alert">
        <p>There is no run at this address.</p>
        <Link to="/">Back to pipelines</Link>
      </div>
    );
  }
  // A new store (and socket) per run.
  return <RunView key={runId} runId={runId} />;
}

/** The document of the version the run runs, for its graph. */
function useRunDocument(run: Run | null): { document: PipelineDocument | null; error: string | null } {
  const pipeline = run?.pipeline;
  const version = run?.version;
  const name = run?.pipeline_name ?? "";
  const [state, setState] = useState<{ document: PipelineDocument | null; error: string | null }>({ document: null, error: null });
  useEffect(() => {
    if (pipeline === undefined || version === undefined) return;
    const controller = new AbortController();
    api.versions.get(pipeline, version, controller.signal).then(
      (detail) => setState({ document: parseDocument(detail.document, name), error: null }),
      (error: unknown) => {
        if (!isAbort(error)) setState({ document: null, error: errorSentence(error) });
      },
    );
    return () => controller.abort();
  }, [pipeline, version, name]);
  return state;
}

function RunView({ runId }: { runId: number }) {
  const store = useRunLive(runId, null);
  const run = useRunState(store, (s) => s.run);
  const connection = useRunState(store, (s) => s.connection);
  const loadError = useRunState(store, (s) => s.loadError);
  const { document, error: documentError } = useRunDocument(run);
  const streaming = document?.mode === "streaming";
  useStreamProgress(store, runId, streaming);

  if (!run) {
    const message = connection === "not-found" ? "This run does not exist, or you are not a member of its workspace." : loadError;
    return message ? (
      <div className="page-message" role="alert">
        <p>{message}</p>
        <Link to="/">Back to pipelines</Link>
      </div>
    ) : (
      <p className="page-message">Loading the run…</p>
    );
  }

  return (
    <main className="page run-page" data-testid="run-page">
      <RunHeader store={store} run={run} />
      {loadError && (
        <p className="field-error" role="alert">
          {loadError}
        </p>
      )}
      {run.error && (
        <pre className="run-error" data-testid="run-error" role="alert">
          {run.error}
        </pre>
      )}
      <div className="run-grid">
        <section className="run-main" aria-label="Pipeline">
          {document ? <LiveGraph store={store} document={document} /> : <p className="muted">{documentError ?? "Loading the pipeline…"}</p>}
          {document && !streaming && <LiveProgress store={store} />}
          {streaming && <LiveStreamCharts store={store} />}
        </section>
        <aside className="run-side">
          <section aria-label="Alerts">
            <h2>Alerts</h2>
            <LiveAlerts store={store} />
          </section>
          <section aria-label="Lineage and quality">
            <h2>Lineage and quality</h2>
            <RunLineage runId={run.id} status={run.status} />
          </section>
          <section aria-label="Transitions">
            <h2>Transitions</h2>
            <LiveTimeline store={store} />
          </section>
        </aside>
      </div>
      <section aria-label="Log">
        <h2>Log</h2>
        <LiveLogTail store={store} />
      </section>
    </main>
  );
}

function RunHeader({ store, run }: { store: RunLiveStore; run: Run }) {
  const detail = useRunState(store, (s) => s.detail);
  return (
    <header className="run-header">
      <div className="page-header">
        <Link to={`/pipelines/${run.pipeline}/runs`} className="back-link">
          ← {run.pipeline_name} runs
        </Link>
        <h1>Run #{run.id}</h1>
        <RunStatusBadge status={run.status} testId="run-status" />
        <span className="spacer" />
        <LiveHeartbeat store={store} />
        <ConnectionStatus store={store} />
        <CancelRunButton store={store} runId={run.id} />
      </div>
      <dl className="run-facts">
        <dt>Pipeline</dt>
        <dd>
          <Link to={`/pipelines/${run.pipeline}`}>{run.pipeline_name}</Link> v{run.version} on {run.engine}
        </dd>
        <dt>Started by</dt>
        <dd>
          {run.trigger === "schedule" ? `schedule ${run.schedule ?? ""}` : run.trigger === "retry" ? "retry" : (run.created_by ?? "a deleted user")}
          {run.attempt > 1 && ` (attempt ${run.attempt})`}
          {run.retry_of !== null && (
            <>
              {" "}
              of <Link to={`/runs/${run.retry_of}`}>#{run.retry_of}</Link>
            </>
          )}
          {detail && detail.retried_by !== null && (
            <>
              ; retried as <Link to={`/runs/${detail.retried_by}`}>#{detail.retried_by}</Link>
            </>
          )}
        </dd>
        {run.deployment !== null && (
          <>
            <dt>Deployment</dt>
            <dd>
              <Link to={`/pipelines/${run.pipeline}/runs#deployment-${run.deployment}`} data-testid="run-deployment">
                #{run.deployment}
              </Link>
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{formatDateTime(run.created_at)}</dd>
        {run.not_before && !run.started_at && (
          <>
            <dt>Not before</dt>
            <dd>{formatDateTime(run.not_before)}</dd>
          </>
        )}
        <dt>Duration</dt>
        <dd data-testid="run-duration">{run.duration_seconds !== null ? formatDuration(run.duration_seconds) : isTerminal(run.status) ? "—" : "running"}</dd>
        <ParameterFacts values={run.parameters} />
        {detail?.worker_host && (
          <>
            <dt>Worker</dt>
            <dd className="small">
              {detail.worker_host} (pid {detail.worker_pid}){detail.job_pid !== null && `, job pid ${detail.job_pid}`}
            </dd>
          </>
        )}
      </dl>
    </header>
  );
}

function LiveGraph({ store, document }: { store: RunLiveStore; document: PipelineDocument }) {
  const nodes = useRunState(store, (s) => s.nodes);
  return <RunGraph document={document} nodes={nodes} />;
}

function LiveProgress({ store }: { store: RunLiveStore }) {
  const nodes = useRunState(store, (s) => s.nodes);
  const status = useRunState(store, (s) => s.run?.status ?? "queued");
  const tasks = useRunState(store, (s) => s.tasks);
  return <RunProgress nodes={nodes} status={status} tasks={tasks} />;
}

function LiveStreamCharts({ store }: { store: RunLiveStore }) {
  return <StreamCharts batches={useRunState(store, (s) => s.progress)} />;
}

function LiveAlerts({ store }: { store: RunLiveStore }) {
  return <RunAlerts alerts={useRunState(store, (s) => s.alerts)} />;
}

function LiveTimeline({ store }: { store: RunLiveStore }) {
  return <RunTimeline events={useRunState(store, (s) => s.events)} />;
}
