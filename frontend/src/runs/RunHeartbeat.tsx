import type { RunStatus } from "../api/types";
import { formatDuration, formatRelative } from "../ui/format";
import { useNow } from "../ui/useNow";
import type { RunLiveStore } from "./runLive";
import { isOwned } from "./status";
import { useRunState } from "./useRunLive";

/**
 * A heartbeat older than this is a warning: the worker heartbeats every 5 s, and the reaper declares
 * the run lost once its heartbeat is 45 s old (docs/api.md#runs).
 */
export const STALE_HEARTBEAT_SECONDS = 30;

/**
 * The worker's last sign of life while it owns the run (starting, running, cancelling): "Worker
 * alive · 3 s ago", or a warning once that is more than STALE_HEARTBEAT_SECONDS ago; nothing before
 * a worker has claimed the run or once it has ended.
 */
export function RunHeartbeat({ status, heartbeatAt, now }: { status: RunStatus; heartbeatAt: string | null; now: number }) {
  const at = heartbeatAt === null ? NaN : Date.parse(heartbeatAt);
  if (!isOwned(status) || heartbeatAt === null || Number.isNaN(at)) return null;
  // A browser clock behind the server's puts the heartbeat in the future: count it as just now.
  const seen = Math.max(now, at);
  const age = Math.round((seen - at) / 1000);
  const stale = age > STALE_HEARTBEAT_SECONDS;
  const text = stale
    ? `No sign of life from the worker for ${formatDuration(age)}`
    : `Worker alive · ${formatRelative(heartbeatAt, seen, { inSeconds: true })}`;
  return (
    <span className={stale ? "heartbeat heartbeat-stale" : "heartbeat"} data-testid="run-heartbeat" data-stale={stale} title={heartbeatAt}>
      {text}
    </span>
  );
}

/** The heartbeat of a live run, its age moving every second while a worker owns the run. */
export function LiveHeartbeat({ store }: { store: RunLiveStore }) {
  const status = useRunState(store, (s) => s.run?.status);
  const heartbeatAt = useRunState(store, (s) => s.heartbeatAt);
  const now = useNow(1000, status !== undefined && isOwned(status) && heartbeatAt !== null);
  return status === undefined ? null : <RunHeartbeat status={status} heartbeatAt={heartbeatAt} now={now} />;
}
