import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../api/endpoints";
import { errorSentence, errorSentences, fieldErrorsOf, isAbort } from "../api/errors";
import type { Pipeline } from "../api/types";
import { useMe } from "../auth/session";
import { RunStatusBadge } from "../runs/RunStatusBadge";
import { formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";

const WORKSPACE_KEY = "studio.workspace";

function FieldError({ messages, id }: { messages: string[] | undefined; id: string }) {
  if (!messages || messages.length === 0) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {messages.join(" ")}
    </span>
  );
}

export function PipelinesPage() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const remembered = localStorage.getItem(WORKSPACE_KEY);
  const slugs = me.workspaces.map((w) => w.slug);
  const requested = params.get("workspace");
  const workspace =
    (requested && slugs.includes(requested) ? requested : null) ??
    (remembered && slugs.includes(remembered) ? remembered : null) ??
    slugs[0] ??
    "";

  const [loaded, setLoaded] = useState<{ workspace: string; list: Pipeline[] } | null>(null);
  const pipelines = loaded?.workspace === workspace ? loaded.list : null;
  const setPipelines = (update: (list: Pipeline[]) => Pipeline[]) =>
    setLoaded((current) => (current ? { ...current, list: update(current.list) } : current));
  const [listError, setListError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  const [name, setName] = useState("");
  const [creating, setCreating] = useState(false);
  const [createErrors, setCreateErrors] = useState<Record<string, string[]>>({});
  const [createMessages, setCreateMessages] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    if (!workspace) return;
    const controller = new AbortController();
    setListError(null);
    api.pipelines.list(workspace, controller.signal).then(
      (list) => setLoaded({ workspace, list }),
      (error: unknown) => {
        if (!isAbort(error)) setListError(errorSentence(error));
      },
    );
    return () => controller.abort();
  }, [workspace, reload]);

  const chooseWorkspace = (slug: string) => {
    localStorage.setItem(WORKSPACE_KEY, slug);
    setNotice(null);
    setParams({ workspace: slug });
  };

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setCreating(true);
    setCreateErrors({});
    setCreateMessages([]);
    setNotice(null);
    try {
      const created = await api.pipelines.create({ workspace, name: name.trim() });
      setPipelines((list) => [created, ...list.filter((p) => p.id !== created.id)]);
      setNotice(`Created pipeline ${created.name}.`);
      setName("");
    } catch (error) {
      const fields = fieldErrorsOf(error);
      setCreateErrors(fields);
      const other = Object.keys(fields).filter((f) => f !== "name");
      if (Object.keys(fields).length === 0) setCreateMessages(errorSentences(error));
      else setCreateMessages(other.flatMap((f) => (fields[f] ?? []).map((m) => `${f}: ${m}`)));
    } finally {
      setCreating(false);
    }
  };

  const remove = async (pipeline: Pipeline) => {
    if (!window.confirm(`Delete the pipeline "${pipeline.name}" with all its versions? This cannot be undone.`)) return;
    setActionError(null);
    try {
      await api.pipelines.remove(pipeline.id);
      setPipelines((list) => list.filter((p) => p.id !== pipeline.id));
      setNotice(`Deleted pipeline ${pipeline.name}.`);
    } catch (error) {
      setActionError(errorSentence(error));
    }
  };

  const current = me.workspaces.find((w) => w.slug === workspace);

  if (me.workspaces.length === 0) {
    return (
      <main className="page">
        <p className="page-message">You are not a member of any workspace yet. Ask an administrator to add you.</p>
      </main>
    );
  }

  return (
    <main className="page">
      <div className="page-header">
        <h1>Pipelines</h1>
        <label className="inline-field">
          Workspace
          <select data-testid="workspace-select" value={workspace} onChange={(e) => chooseWorkspace(e.target.value)}>
            {me.workspaces.map((w) => (
              <option key={w.slug} value={w.slug}>
                {w.name} ({w.role})
              </option>
            ))}
          </select>
        </label>
      </div>

      <form className="create-form" onSubmit={create} noValidate>
        <label className="stacked-field">
          New pipeline
          <input
            data-testid="new-pipeline-name"
            placeholder="orders_daily"
            value={name}
            aria-invalid={createErrors["name"] ? true : undefined}
            aria-describedby="new-pipeline-name-error"
            onChange={(e) => setName(e.target.value)}
          />
          <FieldError messages={createErrors["name"]} id="new-pipeline-name-error" />
        </label>
        <button type="submit" className="primary" data-testid="new-pipeline-create" disabled={creating || !workspace}>
          Create
        </button>
        {current?.role === "viewer" && <span className="muted">You can view this workspace but not change it.</span>}
      </form>
      <ErrorMessages messages={createMessages} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {actionError && <ErrorMessages messages={[actionError]} />}

      {listError && (
        <div className="error-box" role="alert">
          <p>{listError}</p>
          <button type="button" onClick={() => setReload((n) => n + 1)}>
            Try again
          </button>
        </div>
      )}
      {pipelines === null && !listError && <p className="muted">Loading pipelines…</p>}
      {pipelines !== null && pipelines.length === 0 && (
        <p className="muted">No pipelines in this workspace yet. Create one above.</p>
      )}
      {pipelines !== null && pipelines.length > 0 && (
        <table className="table pipelines-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Latest version</th>
              <th>Last run</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {pipelines.map((pipeline) => (
              <tr key={pipeline.id} data-testid="pipeline-row" data-pipeline-name={pipeline.name}>
                <td>
                  <Link to={`/pipelines/${pipeline.id}`} data-testid="pipeline-open" className="strong">
                    {pipeline.name}
                  </Link>
                  {pipeline.description && <div className="muted small">{pipeline.description}</div>}
                </td>
                <td>{pipeline.latest_version === null ? "none" : `v${pipeline.latest_version}`}</td>
                <td>
                  {pipeline.last_run ? (
                    <Link to={`/runs/${pipeline.last_run.id}`} title={formatDateTime(pipeline.last_run.created_at)}>
                      <RunStatusBadge status={pipeline.last_run.status} />
                    </Link>
                  ) : (
                    <span className="muted">never run</span>
                  )}
                </td>
                <td>{formatDateTime(pipeline.updated_at)}</td>
                <td className="actions">
                  <Link to={`/pipelines/${pipeline.id}/runs`} className="button-link" data-testid="pipeline-runs">
                    Runs
                  </Link>
                  <button type="button" className="danger" data-testid="pipeline-delete" onClick={() => void remove(pipeline)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
