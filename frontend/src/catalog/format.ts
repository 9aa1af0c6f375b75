/** Small display helpers for datasets and their rows. */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** Bytes as a person reads a size: "512 B", "1.5 KB", "12 MB" (1 KB = 1024 B). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${UNITS[unit]}`;
}

/** A cell of a row from the API as text: lists and objects as JSON; null for NULL (shown apart, so a
 * NULL is never mistaken for the text "NULL"). */
export function formatCell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The tags a person typed ("gold, crm  pii"), cleaned and without duplicates, in order. */
export function parseTags(text: string): string[] {
  const tags: string[] = [];
  for (const part of text.split(/[\s,]+/)) {
    if (part && !tags.includes(part)) tags.push(part);
  }
  return tags;
}
