import { useEffect, useMemo, useRef, useState } from "react";
import type { LogLine } from "../api/types";
import { countLevels, filterLines, logTime } from "./logView";
import type { LogFilter } from "./logView";

/** A run's log as it grows: each line with its level, a level filter, and auto-scroll while at the bottom. */
export function LogTail({ lines, finished }: { lines: LogLine[]; finished: boolean }) {
  const [filter, setFilter] = useState<LogFilter>("all");
  const logRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  const shown = useMemo(() => filterLines(lines, filter), [lines, filter]);
  const counts = useMemo(() => countLevels(lines), [lines]);

  useEffect(() => {
    const log = logRef.current;
    if (log && stickToBottom.current) log.scrollTop = log.scrollHeight;
  }, [shown]);

  return (
    <div className="log-tail">
      <div className="log-tail-head">
        <label className="inline-field small">
          Show
          <select data-testid="log-filter" value={filter} onChange={(e) => setFilter(e.target.value as LogFilter)}>
            <option value="all">all lines ({lines.length})</option>
            <option value="warning">warnings and errors ({counts.warning + counts.error})</option>
            <option value="error">errors ({counts.error})</option>
          </select>
        </label>
        {counts.error > 0 && <span className="log-count log-count-error">{counts.error} error{counts.error === 1 ? "" : "s"}</span>}
        {counts.warning > 0 && (
          <span className="log-count log-count-warning">
            {counts.warning} warning{counts.warning === 1 ? "" : "s"}
          </span>
        )}
      </div>
      <pre
        className="run-log"
        data-testid="run-log"
        ref={logRef}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.length === 0 && (
          <span className="muted">{lines.length > 0 ? "No lines at this level." : finished ? "No log lines." : "Waiting for log lines…"}</span>
        )}
        {shown.map((line) => (
          <div key={line.seq} className={`log-line log-${line.level}`} data-level={line.level}>
            <span className="log-ts" title={line.ts}>
              {logTime(line.ts)}
            </span>{" "}
            {line.level !== "info" && <span className="log-level">{line.level.toUpperCase()}</span>}
            {line.text}
          </div>
        ))}
      </pre>
    </div>
  );
}
