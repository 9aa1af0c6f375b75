import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { errorSentence, errorSentences, fieldErrorsOf, isAbort } from "../api/errors";
import type { Workspace } from "../api/types";
import { formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { roleAllows } from "./access";
import { adminApi } from "./api";
import { draftOf, emptyDraft, fieldChanges } from "./connectionForm";
import type { ConnectionDraft } from "./connectionForm";
import type { Connection, ConnectionKind, ConnectionKindName } from "./types";

type Editing = { kind: ConnectionKind; original: Connection | null; draft: ConnectionDraft };

/** The workspace's connections. Everyone sees names and settings (pipelines name connections);
 * admins create, change and delete them. Secrets are write-only: the form never shows one. */
export function ConnectionsPanel({ workspace }: { workspace: Workspace }) {
  const isAdmin = roleAllows(workspace.role, "admin");
  const [kinds, setKinds] = useState<ConnectionKind[]>([]);
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [newKind, setNewKind] = useState<ConnectionKindName>("kafka");
  const [messages, setMessages] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    Promise.all([adminApi.connections.kinds(controller.signal), adminApi.connections.list(workspace.slug, controller.signal)]).then(
      ([kindList, list]) => {
        setKinds(kindList);
        setConnections(list);
      },
      (e: unknown) => {
        if (!isAbort(e)) setError(errorSentence(e));
      },
    );
    return () => controller.abort();
  }, [workspace.slug]);

  const kindOf = (name: ConnectionKindName) => kinds.find((k) => k.kind === name);

  const startNew = () => {
    const kind = kindOf(newKind);
    if (kind) setEditing({ kind, original: null, draft: emptyDraft(kind) });
    setMessages([]);
    setNotice(null);
  };

  const startEdit = (connection: Connection) => {
    const kind = kindOf(connection.kind);
    if (kind) setEditing({ kind, original: connection, draft: draftOf(connection, kind) });
    setMessages([]);
    setNotice(null);
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!editing) return;
    const { kind, original, draft } = editing;
    const changes = fieldChanges(kind, draft, original);
    try {
      const saved = original
        ? await adminApi.connections.update(original.id, {
            ...(draft.name !== original.name ? { name: draft.name.trim() } : {}),
            description: draft.description,
            ...changes,
          })
        : await adminApi.connections.create({
            workspace: workspace.slug,
            name: draft.name.trim(),
            kind: kind.kind,
            description: draft.description,
            ...changes,
          });
      setConnections((list) => [...(list ?? []).filter((c) => c.id !== saved.id), saved].sort((a, b) => a.name.localeCompare(b.name)));
      setEditing(null);
      setMessages([]);
      setNotice(`Saved connection ${saved.name}.`);
    } catch (e) {
      const fields = fieldErrorsOf(e);
      const lines = Object.entries(fields).flatMap(([field, list]) => list.map((m) => `${field}: ${m}`));
      setMessages(lines.length > 0 ? lines : errorSentences(e));
    }
  };

  const remove = async (connection: Connection) => {
    if (!window.confirm(`Delete the connection ${connection.name}? Its secrets are deleted with it.`)) return;
    try {
      await adminApi.connections.remove(connection.id);
      setConnections((list) => (list ?? []).filter((c) => c.id !== connection.id));
      setNotice(`Deleted connection ${connection.name}.`);
      setMessages([]);
    } catch (e) {
      setMessages(errorSentences(e));
    }
  };

  const update = (change: (draft: ConnectionDraft) => ConnectionDraft) =>
    setEditing((current) => (current ? { ...current, draft: change(current.draft) } : current));

  if (error) return <ErrorMessages messages={[error]} />;
  if (!connections) return <p className="muted">Loading connections…</p>;
  return (
    <section>
      <p className="muted small">
        A pipeline node names a connection (<code>"connection": "name"</code> in a Kafka node). Runs get its settings and
        secrets at execution time; secrets are encrypted at rest and never shown again after they are saved.
      </p>
      {isAdmin && !editing && (
        <div className="admin-form">
          <label className="stacked-field">
            Kind
            <select data-testid="connection-kind" value={newKind} onChange={(e) => setNewKind(e.target.value as ConnectionKindName)}>
              {kinds.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="primary" data-testid="connection-new" onClick={startNew}>
            New connection
          </button>
        </div>
      )}
      {editing && (
        <form className="connection-form" onSubmit={save} noValidate autoComplete="off" data-testid="connection-form">
          <label className="stacked-field">
            Name
            <input
              data-testid="connection-name"
              placeholder="events_kafka"
              value={editing.draft.name}
              onChange={(e) => update((d) => ({ ...d, name: e.target.value }))}
            />
          </label>
          <label className="stacked-field">
            Description
            <input value={editing.draft.description} onChange={(e) => update((d) => ({ ...d, description: e.target.value }))} />
          </label>
          {editing.kind.fields.map((field) => {
            const stored = editing.original?.secrets[field.name]?.set ?? false;
            if (field.secret) {
              return (
                <div key={field.name} className="stacked-field">
                  <label>
                    {field.label} {field.required && "*"}
                    <input
                      type="password"
                      autoComplete="new-password"
                      data-testid={`secret-${field.name}`}
                      placeholder={stored ? "stored — type to replace" : "not set"}
                      value={editing.draft.secrets[field.name] ?? ""}
                      onChange={(e) => update((d) => ({ ...d, secrets: { ...d.secrets, [field.name]: e.target.value } }))}
                    />
                  </label>
                  {stored && (
                    <label className="checkbox-field small">
                      <input
                        type="checkbox"
                        checked={editing.draft.clear[field.name] ?? false}
                        onChange={(e) => update((d) => ({ ...d, clear: { ...d.clear, [field.name]: e.target.checked } }))}
                      />
                      Remove the stored value
                    </label>
                  )}
                </div>
              );
            }
            const value = editing.draft.settings[field.name] ?? "";
            const set = (text: string) => update((d) => ({ ...d, settings: { ...d.settings, [field.name]: text } }));
            return (
              <label key={field.name} className="stacked-field" title={field.help}>
                {field.label} {field.required && "*"}
                {field.choices.length > 0 ? (
                  <select data-testid={`setting-${field.name}`} value={value} onChange={(e) => set(e.target.value)}>
                    <option value="">—</option>
                    {field.choices.map((choice) => (
                      <option key={choice} value={choice}>
                        {choice}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    data-testid={`setting-${field.name}`}
                    inputMode={field.type === "integer" ? "numeric" : undefined}
                    placeholder={field.help}
                    value={value}
                    onChange={(e) => set(e.target.value)}
                  />
                )}
              </label>
            );
          })}
          <div className="form-actions">
            <button type="submit" className="primary" data-testid="connection-save">
              Save
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorMessages messages={messages} testId="connection-errors" />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <table className="table" data-testid="connections">
        <thead>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>Settings</th>
            <th>Secrets</th>
            <th>Used by</th>
            <th>Updated</th>
            {isAdmin && <th />}
          </tr>
        </thead>
        <tbody>
          {connections.map((c) => (
            <tr key={c.id} data-testid={`connection-${c.name}`}>
              <td>
                {c.name}
                <div className="muted small mono">{c.environment_variable}</div>
              </td>
              <td>{kindOf(c.kind)?.label ?? c.kind}</td>
              <td className="small mono">
                {Object.entries(c.settings)
                  .map(([key, value]) => `${key}=${String(value)}`)
                  .join(" ")}
              </td>
              <td>
                {Object.entries(c.secrets).map(([name, state]) => (
                  <span key={name} className={state.set ? "secret-badge set" : "secret-badge"} data-testid={`secret-state-${c.name}-${name}`}>
                    {name}: {state.set ? "set" : "not set"}
                  </span>
                ))}
              </td>
              <td>{c.used_by.join(", ") || <span className="muted">—</span>}</td>
              <td className="small">{formatDateTime(c.updated_at)}</td>
              {isAdmin && (
                <td className="row">
                  <button type="button" data-testid={`connection-edit-${c.name}`} onClick={() => startEdit(c)}>
                    Edit
                  </button>
                  <button type="button" data-testid={`connection-delete-${c.name}`} onClick={() => void remove(c)}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
