import { describe, expect, it } from "vitest";
import { batchOf, nodeOf } from "./fixtures";
import { MIN_BATCH_INTERVAL_SECONDS, batchProgress, lagSeries, throughputSeries } from "./runMetrics";

describe("stream charts", () => {
  it("plots the rate the job measured, else the rows since the batch before", () => {
    const [series] = throughputSeries([
      batchOf(0, "2026-01-01T00:00:00Z", 100),
      batchOf(1, "2026-01-01T00:00:10Z", 500),
      batchOf(2, "2026-01-01T00:00:10.2Z", 300),
      batchOf(3, "2026-01-01T00:00:20Z", 900, { duration_ms: 3000, rows_per_second: 300 }),
    ]);
    // Batch 0 has nothing to divide by; batch 2, reported 0.2 s after batch 1, counts as 1 s.
    expect(series?.points.map((p) => p.y)).toEqual([50, 300 / MIN_BATCH_INTERVAL_SECONDS, 300]);
    expect(series?.points[0]?.x).toBe(Date.parse("2026-01-01T00:00:10Z"));
  });

  it("draws lag only where the sources report it", () => {
    expect(lagSeries([batchOf(0, "2026-01-01T00:00:00Z", 1)])).toEqual([]);
    const [lag] = lagSeries([batchOf(0, "2026-01-01T00:00:00Z", 1, { lag: 40 }), batchOf(1, "2026-01-01T00:00:10Z", 1, { lag: 0 })]);
    expect(lag?.points.map((p) => p.y)).toEqual([40, 0]);
  });
});

describe("batch progress", () => {
  const nodes = [nodeOf("a", { status: "succeeded" }), nodeOf("b", { status: "running" }), nodeOf("c", { status: "running" })];

  it("counts finished nodes, and is complete once the run succeeded", () => {
    expect(batchProgress(nodes, "running")).toMatchObject({ done: 1, total: 3, label: "1 of 3 nodes done" });
    expect(batchProgress(nodes, "running").fraction).toBeCloseTo(1 / 3);
    expect(batchProgress(nodes, "succeeded")).toMatchObject({ done: 3, fraction: 1 });
    expect(batchProgress(nodes, "failed")).toMatchObject({ done: 1 });
  });

  it("follows the job's task count while it runs, and the nodes once it has ended", () => {
    const tasks = { tasks_done: 3, tasks_total: 12, stage: 2 };
    const none = nodes.map((n) => ({ ...n, status: "running" as const }));
    expect(batchProgress(none, "running", tasks)).toMatchObject({
      done: 0, total: 3, tasks, fraction: 0.25, label: "0 of 3 nodes done; 3 of 12 tasks",
    });
    expect(batchProgress(nodes, "running", { ...tasks, tasks_done: 12 }).fraction).toBe(1);
    // No task started yet: the nodes say how far it is.
    expect(batchProgress(none, "running", { tasks_done: 0, tasks_total: 0, stage: null })).toMatchObject({ fraction: null, tasks: null });
    expect(batchProgress(nodes, "succeeded", tasks)).toMatchObject({ done: 3, fraction: 1, tasks: null });
    expect(batchProgress(nodes, "failed", tasks)).toMatchObject({ done: 1, fraction: 1 / 3, tasks: null });
    expect(batchProgress(nodes, "queued", tasks)).toMatchObject({ fraction: 0, tasks: null });
  });

  it("says it is working while nothing has finished yet, and waiting before a worker starts it", () => {
    const none = nodes.map((n) => ({ ...n, status: "running" as const }));
    expect(batchProgress(none, "running")).toMatchObject({ fraction: null, label: "0 of 3 nodes done; working" });
    expect(batchProgress(none, "queued")).toMatchObject({ fraction: 0, label: "Waiting for a worker" });
  });
});
