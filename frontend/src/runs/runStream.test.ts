import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LogLine, LogPage, Run } from "../api/types";
import { runOf } from "./fixtures";
import { RunStream, backoffDelay, earlierPage, mergeLines, runSocketUrl } from "./runStream";
import type { RunUpdate, SocketLike } from "./runStream";

const line = (seq: number): LogLine => ({ seq, ts: `t${seq}`, level: "info", text: `line ${seq}` });

const run = (status: Run["status"]): Run => runOf(status, { pipeline_name: "p", workspace: "w" });

class FakeSocket implements SocketLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.onopen?.(new Event("open"));
  }
  send(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }
  drop(code = 1006) {
    this.onclose?.({ code } as CloseEvent);
  }
  close() {
    this.closed = true;
  }
}

describe("log lines", () => {
  it("merges by seq without duplicates, in order, keeping the newest", () => {
    expect(mergeLines([line(1), line(3)], [line(2), line(3), line(4)]).map((l) => l.seq)).toEqual([1, 2, 3, 4]);
    expect(mergeLines([line(1), line(2)], [line(3)], 2).map((l) => l.seq)).toEqual([2, 3]);
  });

  it("backs off exponentially up to a cap", () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 1000, 30000))).toEqual([1000, 2000, 4000, 8000, 30000]);
  });

  it("asks for the page just before the oldest line held", () => {
    expect(earlierPage(7001, 500)).toEqual({ after: 6500, limit: 500 });
    expect(earlierPage(201, 500)).toEqual({ after: 0, limit: 200 });
    expect(earlierPage(1, 500)).toBeNull();
    expect(earlierPage(undefined, 500)).toBeNull();
  });

  it("uses wss on https", () => {
    expect(runSocketUrl(5, { protocol: "https:", host: "studio.example" })).toBe("wss://studio.example/ws/runs/5/");
    expect(runSocketUrl(5, { protocol: "http:", host: "localhost:5173" })).toBe("ws://localhost:5173/ws/runs/5/");
  });
});

describe("run stream", () => {
  let sockets: FakeSocket[];
  let pages: Map<number, LogPage>;
  let fetchLog: ReturnType<typeof vi.fn<(after: number, limit?: number) => Promise<LogPage>>>;
  let lines: LogLine[];
  let updates: RunUpdate[];
  let opens: number;
  let states: string[];

  const start = (maxLines?: number) => {
    const stream = new RunStream({
      maxLines,
      url: "ws://host/ws/runs/12/",
      createSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      fetchLog,
      onUpdate: (u) => updates.push(u),
      onLines: (l) => (lines = l),
      onOpen: () => (opens += 1),
      onConnection: (state) => states.push(state),
      initialBackoffMs: 1000,
      maxBackoffMs: 8000,
    });
    stream.start();
    return stream;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    pages = new Map();
    fetchLog = vi.fn((after: number, limit?: number) => {
      const page = pages.get(after) ?? { lines: [], next: after };
      return Promise.resolve(limit === undefined ? page : { lines: page.lines.slice(0, limit), next: page.next });
    });
    lines = [];
    updates = [];
    opens = 0;
    states = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("shows status changes and live lines, and catches up on the log when it opens", async () => {
    pages.set(0, { lines: [line(1), line(2)], next: 2 });
    start();
    sockets[0]?.open();
    sockets[0]?.send({ type: "run.status", run: run("running") });
    sockets[0]?.send({ type: "run.log", lines: [line(3)] });
    await vi.advanceTimersByTimeAsync(0);
    expect(updates.map((u) => u.type === "run.status" && u.run.status)).toEqual(["running"]);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(fetchLog.mock.calls.map((c) => c[0])).toEqual([0, 2]);
    expect(opens).toBe(1);
  });

  it("passes node metrics and alerts on, and drops messages it does not understand", () => {
    start();
    sockets[0]?.open();
    sockets[0]?.send({ type: "run.metrics", status: "running", nodes: [] });
    sockets[0]?.send({ type: "run.alert", alerts: [{ node: "a", severity: "critical", message: "m", at: "t" }] });
    sockets[0]?.send({ type: "run.metrics", nodes: "not a list" });
    sockets[0]?.send({ type: "run.progress", tasks_done: 3, tasks_total: 8, stage: 1 });
    sockets[0]?.send({ type: "run.progress", tasks_done: "3", tasks_total: 8, stage: 1 });
    sockets[0]?.send({ type: "run.unknown" });
    sockets[0]?.onmessage?.({ data: "{not json" } as MessageEvent);
    expect(updates.map((u) => u.type)).toEqual(["run.metrics", "run.alert", "run.progress"]);
  });

  it("passes the worker's heartbeats on, and drops one without a readable time", () => {
    start();
    sockets[0]?.open();
    sockets[0]?.send({ type: "run.heartbeat", heartbeat_at: "2026-01-01T00:00:05.123Z" });
    sockets[0]?.send({ type: "run.heartbeat" });
    sockets[0]?.send({ type: "run.heartbeat", heartbeat_at: 5 });
    sockets[0]?.send({ type: "run.heartbeat", heartbeat_at: "not a time" });
    expect(updates).toEqual([{ type: "run.heartbeat", heartbeat_at: "2026-01-01T00:00:05.123Z" }]);
  });

  it("reconnects with backoff after a drop and fetches the lines it missed", async () => {
    pages.set(0, { lines: [line(1)], next: 1 });
    start();
    sockets[0]?.open();
    await vi.advanceTimersByTimeAsync(0);
    sockets[0]?.drop();
    expect(states.at(-1)).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(999);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);
    sockets[1]?.drop();
    await vi.advanceTimersByTimeAsync(1999);
    expect(sockets).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(3);

    pages.set(1, { lines: [line(2), line(3)], next: 3 });
    sockets[2]?.open();
    expect(opens).toBe(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetchLog).toHaveBeenLastCalledWith(3);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(states.at(-1)).toBe("open");
  });

  it("stops reconnecting once the run has finished, and after stop()", async () => {
    const stream = start();
    sockets[0]?.open();
    sockets[0]?.send({ type: "run.status", run: run("succeeded") });
    sockets[0]?.drop(1000);
    await vi.advanceTimersByTimeAsync(60000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toBe("closed");
    stream.stop();

    const second = start();
    sockets[1]?.open();
    second.stop();
    expect(sockets[1]?.closed).toBe(true);
    sockets[1]?.drop();
    await vi.advanceTimersByTimeAsync(60000);
    expect(sockets).toHaveLength(2);
  });

  it("keeps the newest lines and pages back through the earlier ones on request", async () => {
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));
    pages.set(0, { lines: range(1, 4), next: 4 });
    pages.set(4, { lines: range(5, 10), next: 10 });
    const stream = start(5);
    sockets[0]?.open();
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.map((l) => l.seq)).toEqual([6, 7, 8, 9, 10]);

    // Lines 1-5 were dropped from the tail; a page of 3 reads lines 3-5 (after 2, limit 3) and keeps them.
    pages.set(2, { lines: range(3, 5), next: 5 });
    expect(await stream.loadEarlier(3)).toBe(3);
    expect(fetchLog).toHaveBeenLastCalledWith(2, 3);
    expect(lines.map((l) => l.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    // The tail now holds 8 lines: a new line at the end drops the oldest, which a click reads again.
    sockets[0]?.send({ type: "run.log", lines: [line(11)] });
    expect(lines.map((l) => l.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    pages.set(0, { lines: range(1, 3), next: 3 });
    expect(await stream.loadEarlier(3)).toBe(3);
    expect(fetchLog).toHaveBeenLastCalledWith(0, 3);
    expect(lines[0]?.seq).toBe(1);
    expect(await stream.loadEarlier(3)).toBe(0);
  });

  it("gives up on 4404 (a run the user may not see)", async () => {
    start();
    sockets[0]?.drop(4404);
    await vi.advanceTimersByTimeAsync(60000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toBe("not-found");
  });
});
