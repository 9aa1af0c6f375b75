/** Dates from the API (ISO 8601) in the reader's locale; an unparsable value is shown as given. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}
