import { useCallback, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/endpoints";
import { errorSentences, validationResultOf } from "../api/errors";
import type { Diagnostic, Engine, ParameterValues, PipelineDetail, Run } from "../api/types";
import { can } from "../admin/access";
import { useMe } from "../auth/session";
import { parseDocument } from "../editor/model/document";
import { DiagnosticList, ErrorMessages } from "../ui/Messages";
import { usePolled } from "../ui/usePolled";
import type { Polled } from "../ui/usePolled";
import { DeploymentsPanel } from "./DeploymentsPanel";
import { EngineField } from "./EngineField";
import { hasActiveRun } from "./history";
import { RunHistory } from "./RunHistory";
import { RunParametersModal } from "./RunParametersModal";
import { RunPolicyForm } from "./RunPolicyForm";
import { SchedulesPanel } from "./SchedulesPanel";
import { PipelineFromAddress } from "../pipelines/PipelineFromAddress";

/** While a run of the pipeline is active, the history is read again this often. */
const HISTORY_REFRESH_MS = 5000;
const HISTORY_LIMIT = 100;

/** `/pipelines/:id/runs`: run history with durations, manual runs with parameters, a stream's deployments, schedules and run settings. */
export function PipelineRunsPage() {
  return (
    <PipelineFromAddress>
      {(pipeline, setPipeline) => <PipelineRuns key={pipeline.id} pipeline={pipeline} onChange={setPipeline} />}
    </PipelineFromAddress>
  );
}

function useRunHistory(pipelineId: number): Polled<Run[]> {
  const load = useCallback((signal: AbortSignal) => api.runs.history(pipelineId, HISTORY_LIMIT, signal), [pipelineId]);
  return usePolled(load, hasActiveRun, HISTORY_REFRESH_MS);
}

type StartProblem = { kind: "invalid"; errors: Diagnostic[] } | { kind: "failed"; messages: string[] };

function PipelineRuns({ pipeline, onChange }: { pipeline: PipelineDetail; onChange: (pipeline: PipelineDetail) => void }) {
  const navigate = useNavigate();
  const me = useMe();
  const { parameters, mode } = useMemo(() => parseDocument(pipeline.document, pipeline.name), [pipeline]);
  const { value: runs, error, reload } = useRunHistory(pipeline.id);
  const [engine, setEngine] = useState<Engine>("spark");
  const [asking, setAsking] = useState(false);
  const [starting, setStarting] = useState(false);
  const [problem, setProblem] = useState<StartProblem | null>(null);

  const start = async (values: ParameterValues) => {
    setAsking(false);
    setStarting(true);
    setProblem(null);
    try {
      const run = await api.runs.start(pipeline.id, { engine, parameters: values });
      void navigate(`/runs/${run.id}`);
    } catch (e) {
      const invalid = validationResultOf(e);
      setProblem(invalid ? { kind: "invalid", errors: invalid.errors } : { kind: "failed", messages: errorSentences(e) });
      setStarting(false);
    }
  };

  const canRun = can(me, pipeline.workspace, "run");
  const runnable = pipeline.latest_version !== null;

  return (
    <main className="page pipeline-runs" data-testid="pipeline-runs-page">
      <div className="page-header">
        <Link to="/" className="back-link">
          ← Pipelines
        </Link>
        <h1>{pipeline.name}</h1>
        <Link to={`/pipelines/${pipeline.id}`} data-testid="open-editor">
          Open in the editor
        </Link>
        <span className="spacer" />
        <EngineField value={engine} onChange={setEngine} testId="run-engine" />
        <button
          type="button"
          className="primary"
          data-testid="run-now"
          disabled={!canRun || !runnable || starting}
          title={!runnable ? "Save a version in the editor first." : !canRun ? "Operators may start runs." : undefined}
          onClick={() => (parameters.length > 0 ? setAsking(true) : void start({}))}
        >
          {starting ? "Starting…" : `Run v${pipeline.latest_version ?? "–"} now`}
        </button>
      </div>
      {problem && (
        <div className="banner" data-testid="run-errors">
          {problem.kind === "invalid" ? (
            <div className="error-box" role="alert">
              <p>The latest version cannot run on {engine}:</p>
              <DiagnosticList diagnostics={problem.errors} />
            </div>
          ) : (
            <ErrorMessages messages={problem.messages} />
          )}
        </div>
      )}

      <DeploymentsPanel
        pipeline={pipeline}
        parameters={parameters}
        streaming={mode === "streaming"}
        canRun={canRun}
        runs={runs ?? []}
        onChanged={reload}
      />

      <section aria-label="Run history">
        <div className="section-head">
          <h2>Run history</h2>
          <button type="button" onClick={reload} data-testid="history-refresh">
            Refresh
          </button>
        </div>
        {error && <ErrorMessages messages={[error]} />}
        {runs === null && !error && <p className="muted">Loading runs…</p>}
        {runs !== null && <RunHistory runs={runs} />}
      </section>

      <section aria-label="Schedules">
        <h2>Schedules</h2>
        <SchedulesPanel pipelineId={pipeline.id} parameters={parameters} canRun={canRun} />
      </section>

      <section aria-label="Run settings">
        <h2>Run settings</h2>
        <RunPolicyForm pipeline={pipeline} canChange={can(me, pipeline.workspace, "change")} onSaved={onChange} />
      </section>

      {asking && <RunParametersModal parameters={parameters} engine={engine} onRun={(values) => void start(values)} onClose={() => setAsking(false)} />}
    </main>
  );
}
