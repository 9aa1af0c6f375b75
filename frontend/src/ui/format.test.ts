import { describe, expect, it } from "vitest";
import { formatDuration, formatRelative } from "./format";

describe("formatting", () => {
  it("reads durations the way a person says them", () => {
    expect([0.25, 4.56, 42.4, 60, 75, 3600, 3725].map(formatDuration)).toEqual([
      "250 ms",
      "4.6 s",
      "42 s",
      "1 min",
      "1 min 15 s",
      "1 h",
      "1 h 02 min",
    ]);
    expect(formatDuration(null)).toBe("");
  });

  it("says how far a time is from now", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(formatRelative("2026-01-01T12:05:00Z", now)).toBe("in 5 min");
    expect(formatRelative("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
    expect(formatRelative("2026-01-03T12:00:00Z", now)).toBe("in 2 d");
    expect(formatRelative("2026-01-01T12:00:10Z", now)).toBe("just now");
    expect(formatRelative(null, now)).toBe("");
  });

  it("counts the last minute in seconds for a ticking clock", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const inSeconds = { inSeconds: true };
    expect(formatRelative("2026-01-01T11:59:57Z", now, inSeconds)).toBe("3 s ago");
    expect(formatRelative("2026-01-01T11:59:01Z", now, inSeconds)).toBe("59 s ago");
    expect(formatRelative("2026-01-01T12:00:10Z", now, inSeconds)).toBe("in 10 s");
    expect(formatRelative("2026-01-01T12:00:00.2Z", now, inSeconds)).toBe("just now");
    expect(formatRelative("2026-01-01T11:58:00Z", now, inSeconds)).toBe("2 min ago");
  });
});
