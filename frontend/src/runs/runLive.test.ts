import { describe, expect, it } from "vitest";
import { eventOf, detailOf, nodeOf, runOf } from "./fixtures";
import { MAX_ALERTS, createRunLiveStore, isCurrent, laterTime, mergeAlerts, mergeEvents } from "./runLive";

const alert = (at: string, message = "m") => ({ node: "alert", severity: "critical" as const, message, at });

describe("run live state", () => {
  it("keeps the newest task count a batch job pushed", () => {
    const store = createRunLiveStore(runOf("running"));
    expect(store.getState().tasks).toBeNull();
    store.getState().applyUpdate({ type: "run.progress", tasks_done: 2, tasks_total: 8, stage: 0 });
    store.getState().applyUpdate({ type: "run.progress", tasks_done: 8, tasks_total: 8, stage: null });
    expect(store.getState().tasks).toEqual({ tasks_done: 8, tasks_total: 8, stage: null });
  });

  it("keeps the newest heartbeat, pushed or read, never moving it back in time", () => {
    const store = createRunLiveStore(runOf("running"));
    const { applyUpdate, applyDetail } = store.getState();
    expect(store.getState().heartbeatAt).toBeNull();
    applyDetail(detailOf("running", { heartbeat_at: "2026-01-01T00:00:05.000000Z" }));
    expect(store.getState().heartbeatAt).toBe("2026-01-01T00:00:05.000000Z");
    applyUpdate({ type: "run.heartbeat", heartbeat_at: "2026-01-01T00:00:10.250Z" });
    expect(store.getState().heartbeatAt).toBe("2026-01-01T00:00:10.250Z");
    // A late push and a slow REST answer (another format of an older time) are both behind it.
    applyUpdate({ type: "run.heartbeat", heartbeat_at: "2026-01-01T00:00:08Z" });
    applyDetail(detailOf("running", { heartbeat_at: "2026-01-01T00:00:09.000000+00:00" }));
    applyDetail(detailOf("running", { heartbeat_at: null }));
    expect(store.getState().heartbeatAt).toBe("2026-01-01T00:00:10.250Z");
    applyUpdate({ type: "run.heartbeat", heartbeat_at: "2026-01-01T00:00:15.250Z" });
    expect(store.getState().heartbeatAt).toBe("2026-01-01T00:00:15.250Z");

    expect(laterTime(null, "2026-01-01T00:00:01Z")).toBe("2026-01-01T00:00:01Z");
    expect(laterTime("2026-01-01T00:00:01Z", "2026-01-01T00:00:01.000000+00:00")).toBe("2026-01-01T00:00:01Z");
    expect(laterTime("2026-01-01T00:00:01Z", "garbage")).toBe("2026-01-01T00:00:01Z");
  });

  it("moves only forward along the state machine", () => {
    expect(isCurrent(null, "queued")).toBe(true);
    expect(isCurrent("running", "starting")).toBe(false);
    expect(isCurrent("running", "cancelling")).toBe(true);
    expect(isCurrent("cancelling", "succeeded")).toBe(true);
    expect(isCurrent("failed", "running")).toBe(false);
  });

  it("applies pushes: status with its transition and nodes, then metrics, then alerts", () => {
    const store = createRunLiveStore(runOf("queued"));
    const { applyUpdate } = store.getState();
    applyUpdate({
      type: "run.status",
      run: runOf("running"),
      event: eventOf("starting", "running", "2026-01-01T00:00:02Z", "The job started."),
      nodes: [nodeOf("orders", { status: "running" })],
    });
    let state = store.getState();
    expect(state.run?.status).toBe("running");
    expect(state.events.map((e) => e.to_status)).toEqual(["running"]);
    expect(state.nodes.map((n) => n.status)).toEqual(["running"]);
    expect(state.metricsRevision).toBe(0);

    applyUpdate({ type: "run.metrics", status: "running", nodes: [nodeOf("orders", { status: "succeeded", rows_out: 5000 })] });
    state = store.getState();
    expect(state.nodes[0]?.rows_out).toBe(5000);
    expect(state.metricsRevision).toBe(1);

    applyUpdate({ type: "run.alert", alerts: [alert("2026-01-01T00:00:03Z", "big order")] });
    expect(store.getState().alerts.map((a) => a.message)).toEqual(["big order"]);
  });

  it("ignores a late status or node snapshot that a newer one overtook, but keeps its transition", () => {
    const store = createRunLiveStore(null);
    const { applyUpdate } = store.getState();
    applyUpdate({ type: "run.status", run: runOf("succeeded"), nodes: [nodeOf("orders", { status: "succeeded", rows_out: 4 })] });
    applyUpdate({ type: "run.metrics", status: "running", nodes: [nodeOf("orders", { status: "running", rows_out: 4 })] });
    applyUpdate({
      type: "run.status",
      run: runOf("running"),
      event: eventOf("starting", "running", "2026-01-01T00:00:01Z"),
      nodes: [nodeOf("orders", { status: "running" })],
    });
    const state = store.getState();
    expect(state.run?.status).toBe("succeeded");
    expect(state.nodes[0]?.status).toBe("succeeded");
    expect(state.events).toHaveLength(1);
  });

  it("folds the REST detail into what was pushed without duplicating transitions", () => {
    const store = createRunLiveStore(null);
    const started = eventOf("queued", "starting", "2026-01-01T00:00:01Z");
    store.getState().applyUpdate({ type: "run.status", run: runOf("starting"), event: started });
    store.getState().applyDetail(
      detailOf("running", {
        events: [eventOf(null, "queued", "2026-01-01T00:00:00Z"), started, eventOf("starting", "running", "2026-01-01T00:00:02Z")],
        nodes: [nodeOf("orders", { status: "running" })],
      }),
    );
    const state = store.getState();
    expect(state.events.map((e) => e.to_status)).toEqual(["queued", "starting", "running"]);
    expect(state.run?.status).toBe("running");
    expect(state.detail?.status).toBe("running");
  });

  it("merges transitions by time without duplicates, however the server wrote the times", () => {
    const a = eventOf(null, "queued", "2026-01-01T00:00:00Z");
    const b = eventOf("queued", "starting", "2026-01-01T00:00:01.250000Z");
    expect(mergeEvents([b], [a, { ...b, at: "2026-01-01T00:00:01.250000+00:00" }])).toEqual([a, b]);
  });

  it("merges alerts by number, folds a pushed alert into its numbered copy, and keeps the newest", () => {
    const pushed = alert("2026-01-01T00:00:01.500000+00:00", "big order");
    const listed = { ...alert("2026-01-01T00:00:01.500000Z", "big order"), seq: 7 };
    const twin = { ...listed, seq: 8 }; // the same row alerted twice in one micro-batch
    const store = createRunLiveStore(null);
    store.getState().applyUpdate({ type: "run.alert", alerts: [pushed, pushed] });
    expect(store.getState().alerts).toEqual([pushed]);
    store.getState().addAlerts([listed, twin, listed]);
    expect(store.getState().alerts).toEqual([listed, twin]);
    store.getState().applyUpdate({ type: "run.alert", alerts: [pushed] });
    expect(store.getState().alerts).toHaveLength(2);

    const existing = [listed];
    expect(mergeAlerts(existing, [listed])).toBe(existing);
    const many = Array.from({ length: MAX_ALERTS + 5 }, (_, i) => ({
      ...alert(new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), `a${i}`),
      seq: i + 1,
    }));
    const kept = mergeAlerts([], many);
    expect(kept).toHaveLength(MAX_ALERTS);
    expect(kept[0]?.message).toBe("a5");
  });
});
