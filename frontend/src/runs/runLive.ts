import { createStore } from "zustand/vanilla";
import type { StoreApi } from "zustand/vanilla";
import type { LogLine, Run, RunAlert, RunDetail, RunEvent, RunNode, RunStatus, StreamBatch, TaskProgress } from "../api/types";
import type { ConnectionState, RunUpdate } from "./runStream";
import { statusRank } from "./status";

/** At most this many alerts are kept in the page (the newest). */
export const MAX_ALERTS = 500;

/** Everything the run page and the run panel show of one run, kept up to date by the websocket. */
export interface RunLiveState {
  run: Run | null;
  /** The parts of the run that only the REST answer carries (code, worker, retry). */
  detail: RunDetail | null;
  events: RunEvent[];
  nodes: RunNode[];
  /** The run status `nodes` were computed with: an older snapshot never replaces a newer one. */
  nodesStatus: RunStatus | null;
  /** Bumped whenever the job reports new metrics (to re-read a stream's micro-batches). */
  metricsRevision: number;
  /** A stream's micro-batches, oldest first (throughput and lag). */
  progress: StreamBatch[];
  /** A batch job's newest task count (pushed live only; null until the job reports one). */
  tasks: TaskProgress | null;
  /** The worker's last sign of life: the newest of the REST answer's and the pushed heartbeats. */
  heartbeatAt: string | null;
  alerts: RunAlert[];
  lines: LogLine[];
  connection: ConnectionState;
  retryInMs: number | null;
  loadError: string | null;
  /** Reads the log lines before the oldest one held (null until the stream is set up); answers how many it added. */
  loadEarlierLines: (() => Promise<number>) | null;

  applyDetail: (detail: RunDetail) => void;
  applyUpdate: (update: RunUpdate) => void;
  addAlerts: (alerts: RunAlert[]) => void;
  setLines: (lines: LogLine[]) => void;
  setProgress: (progress: StreamBatch[]) => void;
  setConnection: (connection: ConnectionState, retryInMs: number | null) => void;
  setLoadError: (message: string | null) => void;
  setEarlierLoader: (load: (() => Promise<number>) | null) => void;
}

export type RunLiveStore = StoreApi<RunLiveState>;

/** Whether `incoming` is at least as far along the state machine as `current`. */
export function isCurrent(current: RunStatus | null | undefined, incoming: RunStatus): boolean {
  return !current || statusRank(incoming) >= statusRank(current);
}

function byTime<T extends { at: string }>(a: T, b: T): number {
  return Date.parse(a.at) - Date.parse(b.at);
}

function eventKey(event: RunEvent): string {
  return `${Date.parse(event.at)}|${event.from_status ?? ""}|${event.to_status}`;
}

/**
 * The later of two times (ISO 8601, compared as instants): a slow REST answer or a late push must
 * not move the heartbeat back. On a tie, or when `incoming` is missing or unreadable, `current` stays.
 */
export function laterTime(current: string | null, incoming: string | null): string | null {
  if (incoming === null) return current;
  const at = Date.parse(incoming);
  if (Number.isNaN(at)) return current;
  return current === null || at > Date.parse(current) ? incoming : current;
}

/** Transitions in time order without duplicates (the REST answer and the pushes overlap). */
export function mergeEvents(existing: RunEvent[], incoming: RunEvent[]): RunEvent[] {
  const known = new Set(existing.map(eventKey));
  const added: RunEvent[] = [];
  for (const event of incoming) {
    const key = eventKey(event);
    if (known.has(key)) continue;
    known.add(key);
    added.push(event);
  }
  return added.length === 0 ? existing : [...existing, ...added].sort(byTime);
}

/** What an alert says, when (to the millisecond: the REST answer and a push format times differently) and where. */
function alertContent(alert: RunAlert): string {
  return `${Date.parse(alert.at)}|${alert.node}|${alert.severity}|${alert.message}`;
}

/**
 * Alerts oldest first without duplicates, keeping the newest `max`. An alert with its `seq` is the
 * same as one with that `seq`; one without (a push) is the same as one that says the same thing
 * at the same time, and the numbered copy from the REST answer replaces it.
 */
export function mergeAlerts(existing: RunAlert[], incoming: RunAlert[], max = MAX_ALERTS): RunAlert[] {
  const merged = [...existing];
  const seqs = new Set(merged.flatMap((a) => (a.seq === undefined ? [] : [a.seq])));
  const unnumbered = new Map(merged.flatMap((a, i) => (a.seq === undefined ? [[alertContent(a), i] as const] : [])));
  const contents = new Set(merged.map(alertContent));
  let changed = false;
  for (const alert of incoming) {
    const content = alertContent(alert);
    if (alert.seq !== undefined) {
      if (seqs.has(alert.seq)) continue;
      seqs.add(alert.seq);
      const twin = unnumbered.get(content);
      if (twin !== undefined) {
        merged[twin] = alert;
        unnumbered.delete(content);
      } else {
        merged.push(alert);
      }
    } else {
      if (contents.has(content)) continue;
      unnumbered.set(content, merged.length);
      merged.push(alert);
    }
    contents.add(content);
    changed = true;
  }
  if (!changed) return existing;
  merged.sort((a, b) => byTime(a, b) || (a.seq ?? 0) - (b.seq ?? 0));
  return merged.length > max ? merged.slice(merged.length - max) : merged;
}

export function createRunLiveStore(initial: Run | null = null): RunLiveStore {
  return createStore<RunLiveState>()((set) => {
    /** A node snapshot computed with `status`, applied unless the page already has a newer one. */
    const nodesPatch = (state: RunLiveState, nodes: RunNode[], status: RunStatus, metrics: boolean) => {
      if (!isCurrent(state.nodesStatus, status)) return {};
      return { nodes, nodesStatus: status, metricsRevision: metrics ? state.metricsRevision + 1 : state.metricsRevision };
    };

    return {
      run: initial,
      detail: null,
      events: [],
      nodes: [],
      nodesStatus: null,
      metricsRevision: 0,
      progress: [],
      tasks: null,
      heartbeatAt: null,
      alerts: [],
      lines: [],
      connection: "connecting",
      retryInMs: null,
      loadError: null,
      loadEarlierLines: null,

      applyDetail: (detail) =>
        set((state) => ({
          detail,
          loadError: null,
          run: isCurrent(state.run?.status, detail.status) ? detail : state.run,
          events: mergeEvents(state.events, detail.events),
          heartbeatAt: laterTime(state.heartbeatAt, detail.heartbeat_at),
          ...nodesPatch(state, detail.nodes, detail.status, true),
        })),

      applyUpdate: (update) =>
        set((state) => {
          switch (update.type) {
            case "run.status": {
              const patch = {
                run: isCurrent(state.run?.status, update.run.status) ? update.run : state.run,
                events: update.event ? mergeEvents(state.events, [update.event]) : state.events,
              };
              return update.nodes ? { ...patch, ...nodesPatch(state, update.nodes, update.run.status, false) } : patch;
            }
            case "run.metrics":
              return nodesPatch(state, update.nodes, update.status ?? state.run?.status ?? "running", true);
            case "run.alert":
              return { alerts: mergeAlerts(state.alerts, update.alerts) };
            case "run.progress":
              return { tasks: { tasks_done: update.tasks_done, tasks_total: update.tasks_total, stage: update.stage } };
            case "run.heartbeat":
              return { heartbeatAt: laterTime(state.heartbeatAt, update.heartbeat_at) };
          }
        }),

      addAlerts: (alerts) => set((state) => ({ alerts: mergeAlerts(state.alerts, alerts) })),
      setLines: (lines) => set({ lines }),
      setProgress: (progress) => set({ progress }),
      setConnection: (connection, retryInMs) => set({ connection, retryInMs }),
      setLoadError: (loadError) => set({ loadError }),
      setEarlierLoader: (loadEarlierLines) => set({ loadEarlierLines }),
    };
  });
}
