import type { RunStatus } from "../api/types";

export function RunStatusBadge({ status, testId }: { status: RunStatus; testId?: string }) {
  return (
    <span className={`status-badge status-${status}`} data-testid={testId}>
      {status}
    </span>
  );
}
