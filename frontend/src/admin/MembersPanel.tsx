import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { errorSentence, errorSentences, fieldErrorsOf, isAbort } from "../api/errors";
import type { Workspace, WorkspaceRole } from "../api/types";
import { ErrorMessages } from "../ui/Messages";
import { ROLE_HELP, ROLES, roleAllows } from "./access";
import { adminApi } from "./api";
import type { Member, UserAccount } from "./types";
import { OutcomeMessages, useOutcome } from "./useOutcome";

function RoleSelect({ value, onChange, testId }: { value: WorkspaceRole; onChange: (role: WorkspaceRole) => void; testId: string }) {
  return (
    <select data-testid={testId} value={value} onChange={(e) => onChange(ROLES.find((r) => r === e.target.value) ?? "viewer")}>
      {ROLES.map((role) => (
        <option key={role} value={role} title={ROLE_HELP[role]}>
          {role}
        </option>
      ))}
    </select>
  );
}

/** Who belongs to the workspace. Members see the list; admins add, change and remove members. */
export function MembersPanel({ workspace }: { workspace: Workspace }) {
  const isAdmin = roleAllows(workspace.role, "admin");
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<WorkspaceRole>("viewer");
  const [suggestions, setSuggestions] = useState<UserAccount[]>([]);
  const outcome = useOutcome();

  useEffect(() => {
    const controller = new AbortController();
    adminApi.members.list(workspace.id, controller.signal).then(setMembers, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [workspace.id]);

  useEffect(() => {
    if (!isAdmin || username.trim().length < 1) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      adminApi.users.list(username.trim(), controller.signal).then(setSuggestions, () => setSuggestions([]));
    }, 250);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [isAdmin, username]);

  const failed = (e: unknown) =>
    outcome.failed(e, (error) => {
      const lines = Object.values(fieldErrorsOf(error)).flat();
      return lines.length > 0 ? lines : errorSentences(error);
    });

  const add = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const member = await adminApi.members.add(workspace.id, username.trim(), role);
      setMembers((list) => [...(list ?? []), member].sort((a, b) => a.username.localeCompare(b.username)));
      setUsername("");
      outcome.done(`Added ${member.username} as ${member.role}.`);
    } catch (e) {
      failed(e);
    }
  };

  const change = async (member: Member, changes: { role?: WorkspaceRole; can_view_pii?: boolean }) => {
    try {
      const updated = await adminApi.members.update(workspace.id, member.user_id, changes);
      setMembers((list) => (list ?? []).map((m) => (m.user_id === updated.user_id ? updated : m)));
      outcome.done(
        changes.role
          ? `${updated.username} is now ${updated.role}.`
          : `${updated.username} ${updated.can_view_pii ? "now sees" : "no longer sees"} PII values.`,
      );
    } catch (e) {
      failed(e);
    }
  };

  const remove = async (member: Member) => {
    if (!window.confirm(`Remove ${member.username} from ${workspace.name}?`)) return;
    try {
      await adminApi.members.remove(workspace.id, member.user_id);
      setMembers((list) => (list ?? []).filter((m) => m.user_id !== member.user_id));
      outcome.done(`Removed ${member.username}.`);
    } catch (e) {
      failed(e);
    }
  };

  if (error) return <ErrorMessages messages={[error]} />;
  if (!members) return <p className="muted">Loading members…</p>;
  return (
    <section>
      <ul className="muted small">
        {ROLES.map((r) => (
          <li key={r}>
            <strong>{r}</strong>: {ROLE_HELP[r]}
          </li>
        ))}
      </ul>
      {isAdmin && (
        <form className="admin-form" onSubmit={add} noValidate>
          <label className="stacked-field">
            Add user
            <input
              data-testid="member-username"
              list="member-suggestions"
              value={username}
              autoComplete="off"
              onChange={(e) => setUsername(e.target.value)}
            />
            <datalist id="member-suggestions">
              {suggestions.map((u) => (
                <option key={u.id} value={u.username} />
              ))}
            </datalist>
          </label>
          <label className="stacked-field">
            Role
            <RoleSelect value={role} onChange={setRole} testId="member-role" />
          </label>
          <button type="submit" className="primary" data-testid="member-add" disabled={!username.trim()}>
            Add
          </button>
        </form>
      )}
      <OutcomeMessages outcome={outcome} errorsTestId="members-errors" />
      <table className="table" data-testid="members">
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th title="Sees the values of catalog columns classified as PII (masked otherwise).">PII</th>
            {isAdmin && <th />}
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.user_id} data-testid={`member-${m.username}`}>
              <td>{m.username}</td>
              <td>
                {isAdmin ? (
                  <RoleSelect value={m.role} onChange={(role) => void change(m, { role })} testId={`member-role-${m.username}`} />
                ) : (
                  m.role
                )}
              </td>
              <td>
                {isAdmin ? (
                  <input
                    type="checkbox"
                    aria-label={`${m.username} sees PII values`}
                    data-testid={`member-pii-${m.username}`}
                    checked={m.can_view_pii}
                    onChange={(e) => void change(m, { can_view_pii: e.target.checked })}
                  />
                ) : m.can_view_pii ? (
                  "yes"
                ) : (
                  "no"
                )}
              </td>
              {isAdmin && (
                <td>
                  <button type="button" data-testid={`member-remove-${m.username}`} onClick={() => void remove(m)}>
                    Remove
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
