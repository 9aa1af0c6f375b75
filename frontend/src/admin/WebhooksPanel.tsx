import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { Pipeline, Workspace } from "../api/types";
import { formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { roleAllows } from "./access";
import { adminApi } from "./api";
import type { Connection, Webhook } from "./types";
import { OutcomeMessages, useOutcome } from "./useOutcome";
import { scopeText, webhookConnections, webhooksOf } from "./webhooks";

/**
 * Where the workspace's alerts (`sink.alert` nodes) are sent: each webhook names a webhook
 * connection (its URL and token) and sends every pipeline's alerts or one pipeline's. Members see
 * them; operators add, pause, resume and delete them.
 */
export function WebhooksPanel({ workspace }: { workspace: Workspace }) {
  const canManage = roleAllows(workspace.role, "run");
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [connections, setConnections] = useState<Connection[]>([]);
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [error, setError] = useState<string | null>(null);
  const outcome = useOutcome();

  useEffect(() => {
    const controller = new AbortController();
    Promise.all([
      adminApi.webhooks.list(controller.signal),
      adminApi.connections.list(workspace.slug, controller.signal),
      api.pipelines.list(workspace.slug, controller.signal),
    ]).then(
      ([hooks, connectionList, pipelineList]) => {
        setWebhooks(webhooksOf(hooks, workspace.slug));
        setConnections(webhookConnections(connectionList));
        setPipelines(pipelineList);
      },
      (e: unknown) => {
        if (!isAbort(e)) setError(errorSentence(e));
      },
    );
    return () => controller.abort();
  }, [workspace.slug]);

  const toggle = async (webhook: Webhook) => {
    try {
      const updated = await adminApi.webhooks.update(webhook.id, { enabled: !webhook.enabled });
      setWebhooks((list) => (list ?? []).map((w) => (w.id === updated.id ? updated : w)));
      outcome.done(`Alerts to ${updated.connection} are ${updated.enabled ? "sent again" : "paused"}.`);
    } catch (e) {
      outcome.failed(e);
    }
  };

  const remove = async (webhook: Webhook) => {
    if (!window.confirm(`Stop sending ${scopeText(webhook, pipelines)}'s alerts to ${webhook.connection}? Past deliveries stay in the alerts' history.`)) {
      return;
    }
    try {
      await adminApi.webhooks.remove(webhook.id);
      setWebhooks((list) => (list ?? []).filter((w) => w.id !== webhook.id));
      outcome.done(`Deleted the webhook to ${webhook.connection}.`);
    } catch (e) {
      outcome.failed(e);
    }
  };

  if (error) return <ErrorMessages messages={[error]} />;
  if (!webhooks) return <p className="muted">Loading webhooks…</p>;
  return (
    <section>
      <p className="muted small">
        Alerts that runs raise (rows reaching a <code>sink.alert</code> node) are POSTed as JSON to each enabled webhook,
        retried with backoff; each alert on a run's page shows its deliveries.
      </p>
      {canManage ? (
        <WebhookForm
          workspace={workspace}
          connections={connections}
          pipelines={pipelines}
          onCreated={(webhook) => {
            setWebhooks((list) => [...(list ?? []), webhook]);
            outcome.done(`Alerts of ${scopeText(webhook, pipelines)} now go to ${webhook.connection}.`);
          }}
          onFailed={outcome.failed}
        />
      ) : (
        <p className="muted small">Operators may add, pause and delete webhooks.</p>
      )}
      <OutcomeMessages outcome={outcome} errorsTestId="webhook-errors" />
      {webhooks.length === 0 ? (
        <p className="muted" data-testid="webhooks-empty">
          No webhooks: alerts are shown on the run pages only.
        </p>
      ) : (
        <table className="table" data-testid="webhooks">
          <thead>
            <tr>
              <th>Alerts of</th>
              <th>Connection</th>
              <th>URL</th>
              <th>Enabled</th>
              <th>Added</th>
              {canManage && <th />}
            </tr>
          </thead>
          <tbody>
            {webhooks.map((w) => (
              <tr key={w.id} data-testid="webhook" data-connection={w.connection} data-enabled={w.enabled}>
                <td>{scopeText(w, pipelines)}</td>
                <td>{w.connection}</td>
                <td className="small mono">{w.url}</td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Send alerts to ${w.connection}`}
                    data-testid="webhook-enabled"
                    checked={w.enabled}
                    disabled={!canManage}
                    onChange={() => void toggle(w)}
                  />
                </td>
                <td className="small">
                  {formatDateTime(w.created_at)}
                  {w.created_by && ` by ${w.created_by}`}
                </td>
                {canManage && (
                  <td>
                    <button type="button" data-testid="webhook-delete" onClick={() => void remove(w)}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function WebhookForm({
  workspace,
  connections,
  pipelines,
  onCreated,
  onFailed,
}: {
  workspace: Workspace;
  connections: Connection[];
  pipelines: Pipeline[];
  onCreated: (webhook: Webhook) => void;
  onFailed: (error: unknown) => void;
}) {
  const [connection, setConnection] = useState("");
  const [pipeline, setPipeline] = useState<number | null>(null);
  const [enabled, setEnabled] = useState(true);
  const chosen = connection || connections[0]?.name || "";

  if (connections.length === 0) {
    return (
      <p className="muted" data-testid="webhook-no-connection">
        This workspace has no webhook connection yet.{" "}
        {roleAllows(workspace.role, "admin") ? (
          <Link to={`/admin/workspaces/${workspace.id}/connections`}>Add one under Connections</Link>
        ) : (
          "An admin can add one under Connections"
        )}{" "}
        (its URL, and a token sent as a bearer), then send alerts to it here.
      </p>
    );
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      onCreated(await adminApi.webhooks.create({ workspace: workspace.slug, connection: chosen, pipeline, enabled }));
    } catch (e) {
      onFailed(e);
    }
  };

  return (
    <form className="admin-form" onSubmit={(e) => void submit(e)} noValidate data-testid="webhook-form">
      <label className="stacked-field">
        Alerts of
        <select
          data-testid="webhook-pipeline"
          value={pipeline ?? ""}
          onChange={(e) => setPipeline(e.target.value === "" ? null : Number(e.target.value))}
        >
          <option value="">every pipeline</option>
          {pipelines.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label className="stacked-field">
        Send to
        <select data-testid="webhook-connection" value={chosen} onChange={(e) => setConnection(e.target.value)}>
          {connections.map((c) => (
            <option key={c.id} value={c.name}>
              {c.name} ({String(c.settings["url"] ?? "")})
            </option>
          ))}
        </select>
      </label>
      <label className="checkbox-field">
        <input type="checkbox" data-testid="webhook-enable" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <button type="submit" className="primary" data-testid="webhook-add">
        Add webhook
      </button>
    </form>
  );
}
