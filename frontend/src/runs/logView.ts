import type { LogLevel, LogLine } from "../api/types";

/** Which lines the log tail shows: all, warnings and errors, or errors only. */
export type LogFilter = "all" | "warning" | "error";

const SEVERITY: Record<LogLevel, number> = { info: 0, warning: 1, error: 2 };
const THRESHOLD: Record<LogFilter, number> = { all: 0, warning: 1, error: 2 };

export function filterLines(lines: LogLine[], filter: LogFilter): LogLine[] {
  return filter === "all" ? lines : lines.filter((line) => SEVERITY[line.level] >= THRESHOLD[filter]);
}

export function countLevels(lines: LogLine[]): Record<LogLevel, number> {
  const counts: Record<LogLevel, number> = { info: 0, warning: 0, error: 0 };
  for (const line of lines) counts[line.level] += 1;
  return counts;
}

/** The time of day of an ISO timestamp, which is what a log tail needs. */
export function logTime(ts: string): string {
  const match = /T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(ts);
  return match?.[1] ?? ts;
}

/** How many lines of the log come before the first one held (lines are numbered 1, 2, ... without gaps). */
export function linesBefore(lines: LogLine[]): number {
  const first = lines[0]?.seq;
  return first === undefined ? 0 : first - 1;
}
