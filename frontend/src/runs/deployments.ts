import { ApiError } from "../api/client";
import { errorSentences, validationResultOf } from "../api/errors";
import type { Deployment, DeploymentConflict, DeploymentStatus, Diagnostic, JsonValue, Run, Version } from "../api/types";
import type { Tone } from "../ui/tone";
import { isTerminal } from "./status";

/** Why a deployment request was refused, in the form the panel shows it. */
export type DeploymentProblem =
  | {
      kind: "conflict";
      detail: string;
      /** Why its state cannot serve the version (an upgrade), or why fresh state cannot start. */
      problems: string[];
      activeRun: number | null;
      /** The state cannot serve the version: upgrading with `reset_state` would start it with fresh state. */
      offerReset: boolean;
    }
  | { kind: "invalid"; errors: Diagnostic[] }
  | { kind: "failed"; messages: string[] };

function isStringList(value: JsonValue | undefined): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** The body of a 409 of the deployment endpoints, or null for any other error. */
export function conflictOf(error: unknown): DeploymentConflict | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const body = error.body;
  if (typeof body !== "object" || body === null || Array.isArray(body) || typeof body["detail"] !== "string") return null;
  const conflict: DeploymentConflict = { detail: body["detail"] };
  const problems = body["problems"];
  if (isStringList(problems)) conflict.problems = problems;
  const activeRun = body["active_run"];
  if (typeof activeRun === "number") conflict.active_run = activeRun;
  return conflict;
}

/**
 * A refusal as the panel shows it. `upgrade` says the request was an upgrade without `reset_state`:
 * only then do the 409's problems mean the old state cannot serve the version, and resetting it helps.
 */
export function deploymentProblem(error: unknown, upgrade = false): DeploymentProblem {
  const conflict = conflictOf(error);
  if (conflict) {
    const problems = conflict.problems ?? [];
    return {
      kind: "conflict",
      detail: conflict.detail,
      problems,
      activeRun: conflict.active_run ?? null,
      offerReset: upgrade && problems.length > 0,
    };
  }
  const invalid = validationResultOf(error);
  if (invalid) return { kind: "invalid", errors: invalid.errors };
  return { kind: "failed", messages: errorSentences(error) };
}

/** Whether the deployment's newest run is still going (queued, starting, running or stopping). */
export function deploymentActive(deployment: Deployment): boolean {
  return deployment.run !== null && !isTerminal(deployment.run.status);
}

export interface DeploymentActions {
  stop: boolean;
  start: boolean;
  remove: boolean;
}

/** What the API accepts in the deployment's present state (it answers 409 otherwise). */
export function deploymentActions(deployment: Deployment): DeploymentActions {
  const active = deploymentActive(deployment);
  const stopping = deployment.run?.status === "cancelling";
  return {
    stop: active && !stopping,
    start: !active && !deployment.restart_pending,
    remove: !active && !deployment.restart_pending,
  };
}

/** While any deployment is on its way somewhere (or running: heartbeats and micro-batches), the list is read again. */
export function needsRefresh(deployments: Deployment[]): boolean {
  return deployments.some((d) => d.status !== "stopped" && d.status !== "failed");
}

/**
 * The runs of one deployment from the pipeline's history (newest first), with its newest run as the
 * deployment last read it (the history may not have it yet, or have an older view of it).
 */
export function runsOf(deployment: Deployment, runs: Run[]): Run[] {
  const newest = deployment.run;
  const own = runs.filter((run) => run.deployment === deployment.id && run.id !== newest?.id);
  return newest ? [newest, ...own].sort((a, b) => b.id - a.id) : own;
}

/** Where the next start resumes from. */
export function resumeText(deployment: Deployment): string {
  return deployment.last_savepoint
    ? `the savepoint ${deployment.last_savepoint}`
    : `the newest checkpoint in ${deployment.state_dir} (state generation ${deployment.state_generation})`;
}

/** The versions a deployment can move to: every other one, newest first. */
export function upgradeTargets(versions: Version[], deployment: Deployment): Version[] {
  return versions.filter((v) => v.number !== deployment.version).sort((a, b) => b.number - a.number);
}

const TONES: Record<DeploymentStatus, Tone> = {
  starting: "active",
  running: "active",
  stopping: "warn",
  stopped: "neutral",
  failed: "bad",
};

const DESCRIPTIONS: Record<DeploymentStatus, string> = {
  starting: "Its run is queued or starting (or about to start again after an upgrade).",
  running: "Its stream is running.",
  stopping: "Asked to stop: it finishes its micro-batch (or takes a savepoint) and keeps its state.",
  stopped: "Stopped as asked, or its stream ended by itself; start it to resume from its state.",
  failed: "Its run ended while it should run; see the run's error.",
};

export function deploymentTone(status: DeploymentStatus): Tone {
  return TONES[status];
}

export function deploymentDescription(status: DeploymentStatus): string {
  return DESCRIPTIONS[status];
}
