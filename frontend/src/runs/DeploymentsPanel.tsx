import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import type { Deployment, Engine, PipelineDetail, Run, Version } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { formatCount, formatDateTime, formatRelative } from "../ui/format";
import { DiagnosticList, ErrorMessages } from "../ui/Messages";
import { usePolled } from "../ui/usePolled";
import { deploymentActions, deploymentProblem, needsRefresh, resumeText, runsOf, upgradeTargets } from "./deployments";
import type { DeploymentProblem } from "./deployments";
import { ParameterFacts, ParameterFields, parameterDraft, parameterValues } from "./ParameterFields";
import { DeploymentStatusBadge, RunStatusBadge } from "./RunStatusBadge";
import { EngineField } from "./EngineField";

/** While a deployment starts, runs or stops, the list is read again this often. */
const REFRESH_MS = 3000;

/**
 * A streaming pipeline's deployments (docs/api.md#streaming-deployments): deploy a version with an
 * engine and parameters; stop, start, upgrade (with fresh state when its state cannot serve the new
 * version) and delete each; its status, where it resumes from, and its runs.
 */
export function DeploymentsPanel({
  pipeline,
  parameters,
  streaming,
  canRun,
  runs,
  onChanged,
}: {
  pipeline: PipelineDetail;
  parameters: PipelineParameter[];
  streaming: boolean;
  canRun: boolean;
  /** The pipeline's run history, which holds the deployments' runs. */
  runs: Run[];
  /** Something started or stopped a run: the history is worth reading again. */
  onChanged: () => void;
}) {
  const load = useCallback((signal: AbortSignal) => api.deployments.list(pipeline.id, signal), [pipeline.id]);
  const { value: deployments, error, update } = usePolled(load, needsRefresh, REFRESH_MS);
  const versions = useVersions(pipeline.id, pipeline.latest_version);

  // A batch pipeline has nothing to deploy; older deployments of it (once a stream) still show.
  if (!streaming && (deployments === null || deployments.length === 0)) return null;

  const changed = (deployment: Deployment) => {
    update((list) => {
      const others = (list ?? []).filter((d) => d.id !== deployment.id);
      return [deployment, ...others].sort((a, b) => b.id - a.id);
    });
    onChanged();
  };
  const removed = (id: number) => update((list) => (list ?? []).filter((d) => d.id !== id));

  return (
    <section aria-label="Deployments" data-testid="deployments">
      <h2>Deployments</h2>
      <p className="muted small">
        A deployment keeps the stream running as long-lived runs that share its state (checkpoints): a stop keeps the
        state, a start resumes from it, and an upgrade moves it to another version from the same state.
      </p>
      {error && <ErrorMessages messages={[error]} />}
      {deployments === null && !error && <p className="muted">Loading deployments…</p>}
      {deployments !== null && deployments.length === 0 && <p className="muted">Not deployed.</p>}
      {deployments?.map((deployment) => (
        <DeploymentCard
          key={deployment.id}
          deployment={deployment}
          runs={runsOf(deployment, runs)}
          versions={versions}
          canRun={canRun}
          onChange={changed}
          onRemoved={removed}
        />
      ))}
      {!streaming ? null : canRun ? (
        <DeployForm pipeline={pipeline} versions={versions} parameters={parameters} onDeployed={changed} />
      ) : (
        <p className="muted small">Operators may deploy.</p>
      )}
    </section>
  );
}

/** The pipeline's versions, read again when a new one is saved. */
function useVersions(pipelineId: number, latest: number | null): Version[] {
  const [versions, setVersions] = useState<Version[]>([]);
  useEffect(() => {
    const controller = new AbortController();
    api.versions.list(pipelineId, controller.signal).then(setVersions, () => setVersions([]));
    return () => controller.abort();
  }, [pipelineId, latest]);
  return versions;
}

function versionLabel(version: Version): string {
  return `v${version.number}${version.message ? ` — ${version.message}` : ""}${version.valid ? "" : " (invalid)"}`;
}

/** A refusal in words: the 409's sentence and problems (with the reset-state way out), or the version's errors. */
export function ProblemBox({ problem, generation, onReset }: { problem: DeploymentProblem; generation?: number; onReset?: () => void }) {
  if (problem.kind === "invalid") {
    return (
      <div className="error-box" role="alert" data-testid="deployment-problem">
        <p>The version cannot run on this engine:</p>
        <DiagnosticList diagnostics={problem.errors} />
      </div>
    );
  }
  if (problem.kind === "failed") return <ErrorMessages messages={problem.messages} testId="deployment-problem" />;
  return (
    <div className="error-box" role="alert" data-testid="deployment-problem">
      <p>{problem.detail}</p>
      {problem.problems.length > 0 && (
        <ul data-testid="deployment-problems">
          {problem.problems.map((text) => (
            <li key={text}>{text}</li>
          ))}
        </ul>
      )}
      {problem.activeRun !== null && (
        <p>
          See <Link to={`/runs/${problem.activeRun}`}>run #{problem.activeRun}</Link>.
        </p>
      )}
      {problem.offerReset && onReset && (
        <div className="row">
          <button type="button" className="danger" data-testid="deployment-reset-upgrade" onClick={onReset}>
            Upgrade with fresh state
          </button>
          <span className="muted small">
            The new version starts from nothing (it re-reads its sources from their start) in state generation{" "}
            {(generation ?? 0) + 1}; the current state stays on disk.
          </span>
        </div>
      )}
    </div>
  );
}

/** One deployment: status, where it resumes from, its runs, and stop, start, upgrade and delete. */
export function DeploymentCard({
  deployment,
  runs,
  versions,
  canRun,
  onChange,
  onRemoved,
}: {
  deployment: Deployment;
  runs: Run[];
  versions: Version[];
  canRun: boolean;
  onChange: (deployment: Deployment) => void;
  onRemoved: (id: number) => void;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<DeploymentProblem | null>(null);
  const [notes, setNotes] = useState<string[]>([]);
  const targets = upgradeTargets(versions, deployment);
  const [target, setTarget] = useState<number | null>(null);
  const chosen = target ?? targets[0]?.number ?? null;
  const allowed = deploymentActions(deployment);
  const { progress } = deployment;

  const act = async (name: string, call: () => Promise<Deployment>) => {
    setBusy(name);
    setProblem(null);
    setNotes([]);
    try {
      onChange(await call());
    } catch (e) {
      setProblem(deploymentProblem(e));
    } finally {
      setBusy(null);
    }
  };

  const upgrade = async (resetState: boolean) => {
    if (chosen === null) return;
    setBusy("upgrade");
    setProblem(null);
    setNotes([]);
    try {
      const result = await api.deployments.upgrade(deployment.id, { version: chosen, ...(resetState ? { reset_state: true } : {}) });
      setNotes(result.notes);
      setTarget(null);
      onChange(result.deployment);
    } catch (e) {
      setProblem(deploymentProblem(e, !resetState));
    } finally {
      setBusy(null);
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete deployment #${deployment.id} and its state (checkpoints)? Its runs stay in the history.`)) return;
    setBusy("delete");
    setProblem(null);
    try {
      await api.deployments.remove(deployment.id);
      onRemoved(deployment.id);
    } catch (e) {
      setProblem(deploymentProblem(e));
      setBusy(null);
    }
  };

  return (
    <article className="deployment" id={`deployment-${deployment.id}`} data-testid="deployment" data-deployment={deployment.id}>
      <header className="deployment-head">
        <h3>Deployment #{deployment.id}</h3>
        <DeploymentStatusBadge status={deployment.status} testId="deployment-status" />
        <span data-testid="deployment-version">
          v{deployment.version} on {deployment.engine}
        </span>
        {deployment.restart_pending && <span className="muted small">v{deployment.version} starts once the current run has stopped</span>}
        <span className="spacer" />
        <button
          type="button"
          data-testid="deployment-stop"
          disabled={!canRun || !allowed.stop || busy !== null}
          onClick={() => void act("stop", () => api.deployments.stop(deployment.id))}
        >
          {busy === "stop" ? "Stopping…" : "Stop"}
        </button>
        <button
          type="button"
          className="primary"
          data-testid="deployment-start"
          disabled={!canRun || !allowed.start || busy !== null}
          onClick={() => void act("start", () => api.deployments.start(deployment.id))}
        >
          {busy === "start" ? "Starting…" : "Start"}
        </button>
        <button
          type="button"
          className="danger"
          data-testid="deployment-delete"
          disabled={!canRun || !allowed.remove || busy !== null}
          title={allowed.remove ? undefined : "Stop it first."}
          onClick={() => void remove()}
        >
          Delete
        </button>
      </header>
      <dl className="run-facts">
        <ParameterFacts values={deployment.parameters} />
        <dt>Resumes from</dt>
        <dd className="small" data-testid="deployment-state">
          {resumeText(deployment)}
        </dd>
        <dt>Last savepoint</dt>
        <dd className="small" data-testid="deployment-savepoint">
          {deployment.last_savepoint || <span className="muted">none (only Flink on a session cluster takes one when it stops)</span>}
        </dd>
        {deployment.heartbeat_at && (
          <>
            <dt>Heartbeat</dt>
            <dd title={deployment.heartbeat_at}>{formatRelative(deployment.heartbeat_at)}</dd>
          </>
        )}
        {progress && (
          <>
            <dt>Newest micro-batch</dt>
            <dd data-testid="deployment-progress">
              #{progress.batch}: {formatCount(progress.rows)} rows
              {progress.rows_per_second !== null && `, ${formatCount(progress.rows_per_second)} rows/s`}
              {progress.lag !== null && `, lag ${formatCount(progress.lag)}`}{" "}
              <span className="muted small">({formatRelative(progress.at)})</span>
            </dd>
          </>
        )}
        <dt>Deployed</dt>
        <dd>
          {formatDateTime(deployment.created_at)} by {deployment.created_by ?? "a deleted user"}
        </dd>
        <dt>Runs</dt>
        <dd data-testid="deployment-runs">
          {runs.length === 0 && <span className="muted">none yet</span>}
          {runs.map((run) => (
            <span key={run.id} className="deployment-run" data-testid="deployment-run">
              <Link to={`/runs/${run.id}`}>#{run.id}</Link> <RunStatusBadge status={run.status} /> <span className="muted small">v{run.version}</span>
            </span>
          ))}
        </dd>
      </dl>
      {canRun && (
        <div className="row">
          <label className="inline-field">
            Upgrade to
            <select
              data-testid="deployment-upgrade-version"
              value={chosen ?? ""}
              disabled={targets.length === 0}
              onChange={(e) => setTarget(Number(e.target.value))}
            >
              {targets.length === 0 && <option value="">no other version</option>}
              {targets.map((v) => (
                <option key={v.number} value={v.number}>
                  {versionLabel(v)}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            data-testid="deployment-upgrade"
            disabled={chosen === null || busy !== null}
            onClick={() => void upgrade(false)}
          >
            {busy === "upgrade" ? "Upgrading…" : "Upgrade"}
          </button>
        </div>
      )}
      {problem && <ProblemBox problem={problem} generation={deployment.state_generation} onReset={() => void upgrade(true)} />}
      {notes.length > 0 && (
        <ul className="notice" role="status" data-testid="deployment-notes">
          {notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </article>
  );
}

function DeployForm({
  pipeline,
  versions,
  parameters,
  onDeployed,
}: {
  pipeline: PipelineDetail;
  versions: Version[];
  parameters: PipelineParameter[];
  onDeployed: (deployment: Deployment) => void;
}) {
  const [version, setVersion] = useState<number | null>(null);
  const [engine, setEngine] = useState<Engine>("spark");
  const [draft, setDraft] = useState(() => parameterDraft(parameters));
  const [problem, setProblem] = useState<DeploymentProblem | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      onDeployed(
        await api.deployments.create(pipeline.id, {
          ...(version !== null ? { version } : {}),
          engine,
          parameters: parameterValues(parameters, draft),
        }),
      );
    } catch (e) {
      setProblem(deploymentProblem(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="schedule-form" onSubmit={(e) => void submit(e)} noValidate data-testid="deploy-form">
      <h3>New deployment</h3>
      <div className="row">
        <label className="stacked-field">
          Version
          <select
            data-testid="deploy-version"
            value={version ?? ""}
            onChange={(e) => setVersion(e.target.value === "" ? null : Number(e.target.value))}
          >
            <option value="">latest (v{pipeline.latest_version ?? "–"})</option>
            {[...versions]
              .sort((a, b) => b.number - a.number)
              .map((v) => (
                <option key={v.number} value={v.number}>
                  {versionLabel(v)}
                </option>
              ))}
          </select>
        </label>
        <EngineField value={engine} onChange={setEngine} testId="deploy-engine" stacked />
        <ParameterFields parameters={parameters} draft={draft} onChange={setDraft} testIdPrefix="deploy-param" />
        <button type="submit" className="primary" data-testid="deploy" disabled={busy || pipeline.latest_version === null}>
          {busy ? "Deploying…" : "Deploy"}
        </button>
      </div>
      {problem && <ProblemBox problem={problem} />}
    </form>
  );
}
