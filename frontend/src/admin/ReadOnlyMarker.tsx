import type { WorkspaceRole } from "../api/types";
import "./admin.css";

/** Shown in the editor's toolbar instead of Save when the user's role cannot change the pipeline. */
export function ReadOnlyMarker({ role }: { role: WorkspaceRole | null }) {
  return (
    <span
      className="read-only-marker"
      data-testid="read-only"
      title={`Your role in this workspace (${role ?? "none"}) can view this pipeline but not change it.`}
    >
      Read-only
    </span>
  );
}
