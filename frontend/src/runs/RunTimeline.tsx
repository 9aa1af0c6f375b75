import type { RunEvent } from "../api/types";
import { formatDateTime, formatDuration } from "../ui/format";
import { RunStatusBadge } from "./RunStatusBadge";

/** Every transition of the run, oldest first, with the time spent since the one before and why it happened. */
export function RunTimeline({ events }: { events: RunEvent[] }) {
  if (events.length === 0) return <p className="muted">No transitions yet.</p>;
  return (
    <ol className="timeline" data-testid="run-timeline">
      {events.map((event, i) => {
        const previous = events[i - 1];
        const after = previous ? (Date.parse(event.at) - Date.parse(previous.at)) / 1000 : null;
        return (
          <li key={`${event.at}-${event.to_status}`} className="timeline-item" data-testid="run-event" data-to={event.to_status}>
            <span className="timeline-time" title={event.at}>
              {formatDateTime(event.at)}
              {after !== null && <span className="muted small"> (+{formatDuration(after) || "0 ms"})</span>}
            </span>
            <span className="timeline-move">
              {event.from_status ? <RunStatusBadge status={event.from_status} /> : <span className="muted small">created</span>}
              <span aria-hidden="true">→</span>
              <RunStatusBadge status={event.to_status} />
            </span>
            {event.reason && <span className="timeline-reason">{event.reason}</span>}
          </li>
        );
      })}
    </ol>
  );
}
