import { useLayoutEffect, useMemo, useRef, useState } from "react";
import type { LogLine } from "../api/types";
import { errorSentence, isAbort } from "../api/errors";
import { formatCount } from "../ui/format";
import { countLevels, filterLines, linesBefore, logTime } from "./logView";
import type { LogFilter } from "./logView";

/**
 * A run's log as it grows: each line with its level, a level filter, auto-scroll while at the
 * bottom, and (with `onLoadEarlier`) a button that pages back through the lines before the oldest held.
 */
export function LogTail({
  lines,
  finished,
  onLoadEarlier,
}: {
  lines: LogLine[];
  finished: boolean;
  onLoadEarlier?: (() => Promise<number>) | null;
}) {
  const [filter, setFilter] = useState<LogFilter>("all");
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [earlierError, setEarlierError] = useState<string | null>(null);
  const logRef = useRef<HTMLPreElement>(null);
  const stickToBottom = useRef(true);
  /** The log's height before earlier lines were put on top: keeps the lines in view where they were. */
  const heightBeforePrepend = useRef<number | null>(null);
  const shown = useMemo(() => filterLines(lines, filter), [lines, filter]);
  const counts = useMemo(() => countLevels(lines), [lines]);
  const before = linesBefore(lines);

  useLayoutEffect(() => {
    const log = logRef.current;
    if (!log) return;
    if (heightBeforePrepend.current !== null) {
      log.scrollTop += log.scrollHeight - heightBeforePrepend.current;
      heightBeforePrepend.current = null;
    } else if (stickToBottom.current) {
      log.scrollTop = log.scrollHeight;
    }
  }, [shown]);

  const loadEarlier = async () => {
    if (!onLoadEarlier) return;
    setLoadingEarlier(true);
    setEarlierError(null);
    heightBeforePrepend.current = logRef.current?.scrollHeight ?? null;
    try {
      if ((await onLoadEarlier()) === 0) heightBeforePrepend.current = null;
    } catch (e) {
      heightBeforePrepend.current = null;
      if (!isAbort(e)) setEarlierError(errorSentence(e));
    } finally {
      setLoadingEarlier(false);
    }
  };

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
        {onLoadEarlier && before > 0 && (
          <button type="button" className="small" data-testid="log-earlier" disabled={loadingEarlier} onClick={() => void loadEarlier()}>
            {loadingEarlier ? "Loading…" : `Load earlier lines (${formatCount(before)} not shown)`}
          </button>
        )}
        {earlierError && (
          <span className="field-error small" role="alert">
            {earlierError}
          </span>
        )}
      </div>
      <pre
        className="run-log"
        data-testid="run-log"
        data-first-seq={lines[0]?.seq}
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
