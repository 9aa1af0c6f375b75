/** Dates from the API (ISO 8601) in the reader's locale; an unparsable value is shown as given. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** A whole number with the reader's thousands separators ("12,345"). */
export function formatCount(value: number): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: 0 });
}

/** Seconds as a person reads a duration: "850 ms", "12.3 s", "4 min 05 s", "1 min", "2 h 03 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return twoUnits(Math.floor(whole / 60), "min", whole % 60, "s");
  return twoUnits(Math.floor(whole / 3600), "h", Math.floor((whole % 3600) / 60), "min");
}

function twoUnits(large: number, largeUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${large} ${largeUnit}` : `${large} ${largeUnit} ${String(small).padStart(2, "0")} ${smallUnit}`;
}

/**
 * How far a time is from `now`: "in 5 min", "3 h ago", "just now"; `inSeconds` counts the last
 * minute in seconds ("12 s ago"), for a time shown on a clock that ticks.
 */
export function formatRelative(
  value: string | null | undefined,
  now: number = Date.now(),
  { inSeconds = false }: { inSeconds?: boolean } = {},
): string {
  if (!value) return "";
  const at = Date.parse(value);
  if (Number.isNaN(at)) return "";
  const seconds = Math.round((at - now) / 1000);
  const size = Math.abs(seconds);
  if (inSeconds && size > 0 && size < 60) return seconds > 0 ? `in ${size} s` : `${size} s ago`;
  if (size < 45) return "just now";
  const [amount, unit] =
    size < 3600 ? [Math.round(size / 60), "min"] : size < 86400 ? [Math.round(size / 3600), "h"] : [Math.round(size / 86400), "d"];
  return seconds > 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
}
