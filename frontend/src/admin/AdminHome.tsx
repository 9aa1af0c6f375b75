import { useState } from "react";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { errorSentences, fieldErrorsOf } from "../api/errors";
import { useMe, useSession } from "../auth/session";
import { ErrorMessages } from "../ui/Messages";
import { ROLE_HELP, roleAllows } from "./access";
import { adminApi } from "./api";
import "./admin.css";

/** The user's workspaces with their role, links to members, connections and the audit log; for an
 * instance superuser also new workspaces and user accounts. */
export function AdminHome() {
  const me = useMe();
  return (
    <main className="page">
      <div className="page-header">
        <h1>Workspaces and access</h1>
      </div>
      {me.workspaces.length === 0 ? (
        <p className="page-message">You are not a member of any workspace yet. Ask an administrator to add you.</p>
      ) : (
        <table className="table" data-testid="admin-workspaces">
          <thead>
            <tr>
              <th>Workspace</th>
              <th>Your role</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {me.workspaces.map((w) => (
              <tr key={w.id} data-testid={`admin-workspace-${w.slug}`}>
                <td>
                  {w.name} <span className="muted">({w.slug})</span>
                </td>
                <td title={ROLE_HELP[w.role]}>{w.role}</td>
                <td className="row">
                  <Link to={`/admin/workspaces/${w.id}/members`}>Members</Link>
                  <Link to={`/admin/workspaces/${w.id}/connections`}>Connections</Link>
                  <Link to={`/admin/workspaces/${w.id}/webhooks`}>Alert webhooks</Link>
                  {roleAllows(w.role, "admin") && <Link to={`/admin/workspaces/${w.id}/audit`}>Audit log</Link>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {me.is_superuser && <InstanceAdmin />}
    </main>
  );
}

function InstanceAdmin() {
  const { signedIn } = useSession();
  const me = useMe();
  const [slug, setSlug] = useState("");
  const [name, setName] = useState("");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [superuser, setSuperuser] = useState(false);
  const [messages, setMessages] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);

  const failed = (error: unknown) => {
    const fields = fieldErrorsOf(error);
    const lines = Object.entries(fields).flatMap(([field, list]) => list.map((m) => `${field}: ${m}`));
    setMessages(lines.length > 0 ? lines : errorSentences(error));
  };

  const createWorkspace = async (event: FormEvent) => {
    event.preventDefault();
    setMessages([]);
    setNotice(null);
    try {
      const workspace = await adminApi.workspaces.create(slug.trim(), name.trim());
      signedIn({ ...me, workspaces: [...me.workspaces, workspace] });
      setNotice(`Created workspace ${workspace.name}.`);
      setSlug("");
      setName("");
    } catch (error) {
      failed(error);
    }
  };

  const createUser = async (event: FormEvent) => {
    event.preventDefault();
    setMessages([]);
    setNotice(null);
    try {
      const user = await adminApi.users.create(username.trim(), password, superuser);
      setNotice(`Created user ${user.username}${user.is_superuser ? " (superuser)" : ""}. Add them to a workspace.`);
      setUsername("");
      setPassword("");
      setSuperuser(false);
    } catch (error) {
      failed(error);
    }
  };

  return (
    <section>
      <h2>Instance administration</h2>
      <p>
        <Link to="/admin/audit" data-testid="instance-audit">
          Audit log of the whole instance
        </Link>
      </p>
      <form className="admin-form" onSubmit={createWorkspace} noValidate>
        <label className="stacked-field">
          New workspace slug
          <input data-testid="new-workspace-slug" placeholder="analytics" value={slug} onChange={(e) => setSlug(e.target.value)} />
        </label>
        <label className="stacked-field">
          Name
          <input data-testid="new-workspace-name" placeholder="Analytics" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" className="primary" data-testid="new-workspace-create">
          Create workspace
        </button>
      </form>
      <form className="admin-form" onSubmit={createUser} noValidate autoComplete="off">
        <label className="stacked-field">
          New user
          <input data-testid="new-user-name" value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label className="stacked-field">
          Initial password
          <input
            data-testid="new-user-password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label className="checkbox-field">
          <input type="checkbox" checked={superuser} onChange={(e) => setSuperuser(e.target.checked)} />
          Instance superuser
        </label>
        <button type="submit" className="primary" data-testid="new-user-create">
          Create user
        </button>
      </form>
      <ErrorMessages messages={messages} testId="instance-admin-errors" />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
    </section>
  );
}
