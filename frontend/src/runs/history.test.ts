import { describe, expect, it } from "vitest";
import { runOf } from "./fixtures";
import { durationBars, hasActiveRun } from "./history";

describe("run history", () => {
  it("draws the oldest run first, each bar as long as the run took, coloured by its status", () => {
    const runs = [
      runOf("running", { id: 3 }),
      runOf("failed", { id: 2, duration_seconds: 4.5, finished_at: "2026-01-01T00:01:00Z" }),
      runOf("succeeded", { id: 1, duration_seconds: 75, finished_at: "2026-01-01T00:00:00Z" }),
    ];
    expect(durationBars(runs)).toEqual([
      { key: 1, value: 75, tone: "good", title: "Run #1: succeeded in 1 min 15 s" },
      { key: 2, value: 4.5, tone: "bad", title: "Run #2: failed in 4.5 s" },
      { key: 3, value: null, tone: "active", title: "Run #3: running" },
    ]);
    expect(hasActiveRun(runs)).toBe(true);
    expect(hasActiveRun(runs.slice(1))).toBe(false);
  });
});
