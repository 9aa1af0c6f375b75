import { useCallback, useEffect, useState } from "react";
import type { FormEvent } from "react";
import { errorSentences, isAbort } from "../api/errors";
import type { JsonObject, Workspace } from "../api/types";
import { formatDateTime } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { adminApi } from "./api";
import { AUDIT_ACTIONS } from "./types";
import type { AuditAction, AuditEvent, AuditQuery } from "./types";

export interface AuditFilters {
  /** Only this workspace's events (a slug); used where the panel is not bound to one workspace. */
  workspace: string;
  actor: string;
  action: AuditAction | "";
  object_type: string;
  object_id: string;
  since: string;
  until: string;
}

export const NO_FILTERS: AuditFilters = { workspace: "", actor: "", action: "", object_type: "", object_id: "", since: "", until: "" };
const PAGE = 50;

/** `datetime-local` text (the reader's time) as ISO 8601, for the API. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The fields that differ between before and after, as "field: old → new" lines. */
export function changeLines(before: JsonObject | null, after: JsonObject | null): string[] {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])];
  const show = (value: unknown) => (value === undefined ? "—" : JSON.stringify(value));
  return keys
    .filter((key) => JSON.stringify(before?.[key]) !== JSON.stringify(after?.[key]))
    .map((key) => (before && after ? `${key}: ${show(before[key])} → ${show(after[key])}` : `${key}: ${show((after ?? before)?.[key])}`));
}

/**
 * The query for a page of events: bound to `workspace` when given (a workspace's admins), else
 * instance-wide (superusers), where the workspace is one more filter.
 */
export function auditQuery(filters: AuditFilters, workspace: string | null, before?: number): AuditQuery {
  const scope = workspace ?? filters.workspace.trim();
  return {
    ...(scope ? { workspace: scope } : {}),
    ...(filters.actor ? { actor: filters.actor } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.object_type ? { object_type: filters.object_type } : {}),
    ...(filters.object_id ? { object_id: filters.object_id } : {}),
    since: isoOf(filters.since),
    until: isoOf(filters.until),
    limit: PAGE,
    before,
  };
}

/**
 * The audit log filtered by who, what, which object and when: one workspace's (its admins), or with
 * `workspace` null the whole instance's, instance-wide events included (superusers).
 */
export function AuditPanel({ workspace }: { workspace: Workspace | null }) {
  const [draft, setDraft] = useState<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [messages, setMessages] = useState<string[]>([]);

  const slug = workspace?.slug ?? null;
  const query = useCallback((before?: number): AuditQuery => auditQuery(filters, slug, before), [slug, filters]);

  useEffect(() => {
    const controller = new AbortController();
    setEvents(null);
    setMessages([]);
    adminApi.audit.list(query(), controller.signal).then(
      (page) => {
        setEvents(page.events);
        setNext(page.next);
      },
      (e: unknown) => {
        if (!isAbort(e)) setMessages(errorSentences(e));
      },
    );
    return () => controller.abort();
  }, [query]);

  const older = async () => {
    if (next === null) return;
    try {
      const page = await adminApi.audit.list(query(next));
      setEvents((list) => [...(list ?? []), ...page.events]);
      setNext(page.next);
    } catch (e) {
      setMessages(errorSentences(e));
    }
  };

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };

  const field = (name: keyof AuditFilters, label: string, type = "text") => (
    <label className="stacked-field">
      {label}
      <input
        data-testid={`audit-${name}`}
        type={type}
        value={draft[name]}
        onChange={(e) => setDraft((d) => ({ ...d, [name]: e.target.value }))}
      />
    </label>
  );

  return (
    <section>
      <form className="admin-form" onSubmit={apply} noValidate>
        {workspace === null && field("workspace", "Workspace (slug)")}
        {field("actor", "Who (username)")}
        <label className="stacked-field">
          Action
          <select
            data-testid="audit-action"
            value={draft.action}
            onChange={(e) => setDraft((d) => ({ ...d, action: AUDIT_ACTIONS.find((a) => a === e.target.value) ?? "" }))}
          >
            <option value="">any</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        {field("object_type", "Object type")}
        {field("object_id", "Object id")}
        {field("since", "From", "datetime-local")}
        {field("until", "Until", "datetime-local")}
        <button type="submit" className="primary" data-testid="audit-apply">
          Filter
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft(NO_FILTERS);
            setFilters(NO_FILTERS);
          }}
        >
          Clear
        </button>
      </form>
      <ErrorMessages messages={messages} testId="audit-errors" />
      {!events ? (
        <p className="muted">Loading the audit log…</p>
      ) : events.length === 0 ? (
        <p className="muted" data-testid="audit-empty">
          No events match.
        </p>
      ) : (
        <table className="table" data-testid="audit-events">
          <thead>
            <tr>
              <th>When</th>
              {workspace === null && <th>Workspace</th>}
              <th>Who</th>
              <th>Action</th>
              <th>Object</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="audit-event">
                <td className="small">{formatDateTime(e.at)}</td>
                {workspace === null && <td data-testid="audit-event-workspace">{e.workspace ?? <span className="muted">instance</span>}</td>}
                <td>{e.actor ?? <span className="muted">studio</span>}</td>
                <td>{e.action}</td>
                <td>
                  {e.object_type} <span className="muted">#{e.object_id}</span>
                  <div className="small">{e.object_repr}</div>
                </td>
                <td className="audit-change">{changeLines(e.before, e.after).join("\n")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button type="button" data-testid="audit-older" onClick={() => void older()}>
          Older events
        </button>
      )}
    </section>
  );
}
