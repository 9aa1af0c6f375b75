import { Link } from "react-router";
import { useMe } from "../auth/session";
import { AuditPanel } from "./AuditPanel";
import "./admin.css";

/** `/admin/audit`: every workspace's events and the instance-wide ones (users, workspaces), for superusers. */
export function InstanceAuditPage() {
  const me = useMe();
  if (!me.is_superuser) {
    return (
      <div className="page-message" role="alert">
        <p>Only instance superusers read the whole audit log; a workspace's admins find its log under the workspace.</p>
        <Link to="/admin">Back to workspaces</Link>
      </div>
    );
  }
  return (
    <main className="page" data-testid="instance-audit-page">
      <div className="page-header">
        <Link to="/admin" className="back-link">
          ← Workspaces
        </Link>
        <h1>Audit log of the instance</h1>
      </div>
      <p className="muted small">
        Every workspace's events, and the instance's own (user accounts, workspaces, superuser flags) marked “instance”.
      </p>
      <AuditPanel workspace={null} />
    </main>
  );
}
