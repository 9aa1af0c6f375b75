import type { LogLine, LogPage, RunSocketMessage } from "../api/types";
import { isTerminal } from "./status";

/** The part of the browser WebSocket the stream uses, so tests can pass a fake. */
export interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(code?: number, reason?: string): void;
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed" | "not-found";

/** Every message but the log lines, which the stream merges itself. */
export type RunUpdate = Exclude<RunSocketMessage, { type: "run.log" }>;

export interface RunStreamOptions {
  url: string;
  createSocket: (url: string) => SocketLike;
  fetchLog: (after: number, limit?: number) => Promise<LogPage>;
  onUpdate: (update: RunUpdate) => void;
  onLines: (lines: LogLine[]) => void;
  /** Called each time the socket (re)opens: the moment to re-read what pushes may have missed. */
  onOpen?: () => void;
  onConnection: (state: ConnectionState, retryInMs?: number) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxLines?: number;
}

export const NOT_FOUND_CLOSE_CODE = 4404;

/** How many earlier lines one "load earlier lines" asks for. */
export const EARLIER_PAGE = 500;

export function runSocketUrl(runId: number, location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/runs/${runId}/`;
}

/** Lines ordered by `seq` without duplicates, keeping at most the newest `max`. */
export function mergeLines(existing: LogLine[], incoming: LogLine[], max = Infinity): LogLine[] {
  if (incoming.length === 0) return existing;
  const bySeq = new Map<number, LogLine>();
  for (const line of existing) bySeq.set(line.seq, line);
  for (const line of incoming) bySeq.set(line.seq, line);
  const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return merged.length > max ? merged.slice(merged.length - max) : merged;
}

/**
 * The log API's `after` and `limit` for the page of lines just before `firstSeq` (a run's lines are
 * numbered 1, 2, ... without gaps), at most `pageSize` of them; null when nothing comes before.
 */
export function earlierPage(firstSeq: number | undefined, pageSize: number): { after: number; limit: number } | null {
  if (firstSeq === undefined || firstSeq <= 1) return null;
  const after = Math.max(0, firstSeq - 1 - pageSize);
  return { after, limit: firstSeq - 1 - after };
}

export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** attempt);
}

function parseMessage(data: unknown): RunSocketMessage | null {
  if (typeof data !== "string") return null;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== "object" || value === null || !("type" in value)) return null;
    const message = value as RunSocketMessage;
    switch (message.type) {
      case "run.status":
        return typeof message.run === "object" && message.run !== null ? message : null;
      case "run.log":
        return Array.isArray(message.lines) ? message : null;
      case "run.metrics":
        return Array.isArray(message.nodes) ? message : null;
      case "run.alert":
        return Array.isArray(message.alerts) ? message : null;
      case "run.progress":
        return typeof message.tasks_done === "number" && typeof message.tasks_total === "number" ? message : null;
      case "run.heartbeat":
        return typeof message.heartbeat_at === "string" && !Number.isNaN(Date.parse(message.heartbeat_at)) ? message : null;
      default:
        return null;
    }
  } catch {
    return null;
  }
}

/**
 * Follows one run over the websocket (status, nodes, metrics, alerts, heartbeats and log lines), with reconnects
 * (exponential backoff) and a catch-up from `GET /api/runs/{id}/log/?after=` whenever the socket
 * (re)opens, so lines printed while disconnected are not lost. Lines are merged by `seq`, so
 * overlaps are harmless.
 */
export class RunStream {
  private readonly options: RunStreamOptions;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private maxLines: number;
  private socket: SocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  private finished = false;
  private lines: LogLine[] = [];
  /** The `after` for the next log page: everything up to it has been fetched over REST. */
  private logCursor = 0;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;

  constructor(options: RunStreamOptions) {
    this.options = options;
    this.initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30000;
    this.maxLines = options.maxLines ?? 5000;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, "closed by the user");
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.options.onConnection(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = this.options.createSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onConnection("open");
      this.options.onOpen?.();
      void this.catchUp();
    };
    socket.onmessage = (event) => this.handleMessage(event.data);
    socket.onerror = () => undefined;
    socket.onclose = (event) => this.handleClose(event.code);
  }

  private handleMessage(data: unknown): void {
    const message = parseMessage(data);
    if (!message) return;
    if (message.type === "run.log") {
      this.addLines(message.lines);
      return;
    }
    this.options.onUpdate(message);
    if (message.type === "run.status" && isTerminal(message.run.status) && !this.finished) {
      this.finished = true;
      void this.catchUp();
    }
  }

  private handleClose(code: number): void {
    this.socket = null;
    if (this.stopped) return;
    if (code === NOT_FOUND_CLOSE_CODE) {
      this.stopped = true;
      this.options.onConnection("not-found");
      return;
    }
    if (this.finished) {
      this.options.onConnection("closed");
      void this.catchUp();
      return;
    }
    const delay = backoffDelay(this.attempt, this.initialBackoffMs, this.maxBackoffMs);
    this.attempt += 1;
    this.options.onConnection("reconnecting", delay);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private addLines(incoming: LogLine[]): void {
    const merged = mergeLines(this.lines, incoming, this.maxLines);
    if (merged === this.lines) return;
    this.lines = merged;
    this.options.onLines(merged);
  }

  /**
   * Pages back: the tail holds only the newest `maxLines`, so this reads the page just before the
   * oldest line held and keeps it too (the limit grows by what it read). Answers how many lines it added.
   */
  async loadEarlier(pageSize = EARLIER_PAGE): Promise<number> {
    const first = this.lines[0]?.seq;
    const page = earlierPage(first, pageSize);
    if (first === undefined || page === null) return 0;
    const result = await this.options.fetchLog(page.after, page.limit);
    if (this.stopped) return 0;
    const older = result.lines.filter((line) => line.seq < first);
    this.maxLines += older.length;
    this.addLines(older);
    return older.length;
  }

  /** Pages through the log from the cursor; a request made while one runs is folded into a rerun. */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        try {
          for (let page = 0; page < 1000 && !this.stopped; page += 1) {
            const result = await this.options.fetchLog(this.logCursor);
            if (this.stopped) return;
            this.addLines(result.lines);
            const advanced = result.next > this.logCursor;
            if (advanced) this.logCursor = result.next;
            if (result.lines.length === 0 || !advanced) break;
          }
        } catch {
          return;
        }
      } while (this.catchUpAgain && !this.stopped);
    })().finally(() => {
      this.catchingUp = null;
    });
    return this.catchingUp;
  }
}
