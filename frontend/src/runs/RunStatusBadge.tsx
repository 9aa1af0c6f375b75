import type { AlertSeverity, DeploymentStatus, NodeStatus, RunStatus } from "../api/types";
import { deploymentDescription, deploymentTone } from "./deployments";
import { nodeTone, runTone, severityTone, statusDescription } from "./status";
import type { Tone } from "../ui/tone";

function Badge({ text, tone, title, testId }: { text: string; tone: Tone; title?: string; testId?: string }) {
  return (
    <span className={`status-badge tone-${tone} status-${text}`} title={title} data-testid={testId} data-status={text}>
      {tone === "active" && <span className="status-pulse" aria-hidden="true" />}
      {text}
    </span>
  );
}

/** A run's status (one of the eight of its state machine), coloured by what it means. */
export function RunStatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return <Badge text={status} tone={runTone(status)} title={statusDescription(status)} testId={testId} />;
}

/** A node's status within a run. */
export function NodeStatusBadge({ status, testId }: { status: NodeStatus; testId?: string }) {
  return <Badge text={status} tone={nodeTone(status)} title={statusDescription(status)} testId={testId} />;
}

export function SeverityBadge({ severity }: { severity: AlertSeverity }) {
  return <Badge text={severity} tone={severityTone(severity)} />;
}

/** What a streaming deployment is doing. */
export function DeploymentStatusBadge({ status, testId }: { status: DeploymentStatus; testId?: string }) {
  return <Badge text={status} tone={deploymentTone(status)} title={deploymentDescription(status)} testId={testId} />;
}
