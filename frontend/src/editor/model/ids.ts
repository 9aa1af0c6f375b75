/** Node id rules (`^[a-z][a-z0-9_]{0,62}$`, unique) and generation from the node type. */
export const NODE_ID_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * The base id for a type: transforms drop the `transform.` prefix (`filter`), sources and sinks keep
 * their category so a file source and a file sink read differently (`source_file`, `sink_file`).
 */
export function baseIdForType(type: string): string {
  const withoutPrefix = type.startsWith("transform.") ? type.slice("transform.".length) : type;
  let base = withoutPrefix.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  if (!/^[a-z]/.test(base)) base = `node_${base}`.replace(/_+$/, "");
  return base.slice(0, 56);
}

/** `filter`, then `filter_2`, `filter_3`, ... skipping ids already taken. */
export function generateNodeId(type: string, existing: Iterable<string>): string {
  const taken = new Set(existing);
  const base = baseIdForType(type);
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const candidate = `${base}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** A sentence explaining why `id` cannot be used, or null when it can. */
export function nodeIdProblem(id: string, existing: Iterable<string>, currentId?: string): string | null {
  if (id === currentId) return null;
  if (id === "") return "The id cannot be empty.";
  if (!NODE_ID_PATTERN.test(id)) {
    return "Use a lowercase letter first, then lowercase letters, digits or _ (at most 63 characters).";
  }
  for (const other of existing) {
    if (other === id && other !== currentId) return `Another node already has the id "${id}".`;
  }
  return null;
}
