import type { JsonPrimitive } from "../api/types";
import type { Connection, ConnectionKind, FieldChanges } from "./types";

/** What the connection form holds: settings as typed text, secrets as typed text (never loaded). */
export interface ConnectionDraft {
  name: string;
  description: string;
  settings: Record<string, string>;
  /** Secrets typed in this form; "" leaves a stored secret as it is. */
  secrets: Record<string, string>;
  /** Secrets to remove. */
  clear: Record<string, boolean>;
}

export function emptyDraft(kind: ConnectionKind): ConnectionDraft {
  const settings: Record<string, string> = {};
  for (const field of kind.fields) {
    if (!field.secret) settings[field.name] = field.default === null ? "" : String(field.default);
  }
  return { name: "", description: "", settings, secrets: {}, clear: {} };
}

export function draftOf(connection: Connection, kind: ConnectionKind): ConnectionDraft {
  const draft = emptyDraft(kind);
  for (const field of kind.fields) {
    if (field.secret) continue;
    const value = connection.settings[field.name];
    draft.settings[field.name] = value === undefined || value === null ? "" : String(value);
  }
  return { ...draft, name: connection.name, description: connection.description };
}

function settingValue(text: string, type: string): JsonPrimitive {
  const trimmed = text.trim();
  if (type === "integer" && /^-?\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed; // the API names a value of the wrong type
}

/**
 * The `settings` and `secrets` of a create (`original` null) or update request: only what changed
 * on update, an emptied setting becomes null (removed), a secret is sent only when typed or cleared.
 */
export function fieldChanges(
  kind: ConnectionKind,
  draft: ConnectionDraft,
  original: Connection | null,
): { settings: FieldChanges; secrets: FieldChanges } {
  const settings: FieldChanges = {};
  const secrets: FieldChanges = {};
  for (const field of kind.fields) {
    if (field.secret) {
      const typed = draft.secrets[field.name] ?? "";
      if (typed !== "") secrets[field.name] = typed;
      else if (draft.clear[field.name] && original?.secrets[field.name]?.set) secrets[field.name] = null;
      continue;
    }
    const text = draft.settings[field.name] ?? "";
    const before = original?.settings[field.name];
    if (text.trim() === "") {
      if (original && before !== undefined && before !== null) settings[field.name] = null;
      continue;
    }
    const value = settingValue(text, field.type);
    if (!original || value !== before) settings[field.name] = value;
  }
  return { settings, secrets };
}
