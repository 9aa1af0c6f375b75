import { TERMINAL_STATUSES } from "../api/types";
import type { AlertSeverity, NodeStatus, RunStatus } from "../api/types";
import type { Tone } from "../ui/tone";

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Held by a worker, which heartbeats the run until it settles it (docs/api.md#runs). */
export function isOwned(status: RunStatus): boolean {
  return status === "starting" || status === "running" || status === "cancelling";
}

/**
 * How far along the state machine a status is: queued, starting, running, cancelling, then any
 * finished status. A run only ever moves forward, so of two views of it the one further along is
 * the newer (a slow REST answer or a late message must not undo a newer update).
 */
export function statusRank(status: RunStatus): number {
  return RANKS[status];
}

const RANKS: Record<RunStatus, number> = {
  queued: 0,
  starting: 1,
  running: 2,
  cancelling: 3,
  succeeded: 4,
  failed: 4,
  cancelled: 4,
  lost: 4,
};

const RUN_TONES: Record<RunStatus, Tone> = {
  queued: "neutral",
  starting: "active",
  running: "active",
  cancelling: "warn",
  succeeded: "good",
  failed: "bad",
  cancelled: "neutral",
  lost: "bad",
};

const NODE_TONES: Record<NodeStatus, Tone> = {
  pending: "neutral",
  running: "active",
  succeeded: "good",
  failed: "bad",
  cancelled: "neutral",
  lost: "bad",
};

const SEVERITY_TONES: Record<AlertSeverity, Tone> = { info: "neutral", warning: "warn", critical: "bad" };

/** What each status means, for the badge's tooltip. */
const DESCRIPTIONS: Record<RunStatus | NodeStatus, string> = {
  queued: "Waiting for a worker.",
  starting: "A worker claimed it and is compiling the job.",
  running: "The job is running.",
  cancelling: "Asked to stop; the worker is stopping the job.",
  succeeded: "Finished without error.",
  failed: "Ended with an error.",
  cancelled: "Stopped on request.",
  lost: "Its worker or job died without settling it.",
  pending: "Not started yet.",
};

export function runTone(status: RunStatus): Tone {
  return RUN_TONES[status];
}

export function nodeTone(status: NodeStatus): Tone {
  return NODE_TONES[status];
}

export function severityTone(severity: AlertSeverity): Tone {
  return SEVERITY_TONES[severity];
}

export function statusDescription(status: RunStatus | NodeStatus): string {
  return DESCRIPTIONS[status];
}
