import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { LogLine } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { eventOf, nodeOf } from "./fixtures";
import { countLevels, filterLines, linesBefore, logTime } from "./logView";
import { LogTail } from "./LogTail";
import { ParameterFields, parameterDraft, parameterValues } from "./ParameterFields";
import { RunAlerts, deliverySummary } from "./RunAlerts";
import { RunHeartbeat } from "./RunHeartbeat";
import { RunProgress } from "./RunProgress";
import { RunTimeline } from "./RunTimeline";

const line = (seq: number, level: LogLine["level"], text: string): LogLine => ({ seq, ts: "2026-01-01T10:11:12.345Z", level, text });

describe("log tail", () => {
  const lines = [line(1, "info", "starting"), line(2, "warning", "slow"), line(3, "error", "boom")];

  it("filters by level and counts each", () => {
    expect(filterLines(lines, "all")).toBe(lines);
    expect(filterLines(lines, "warning").map((l) => l.seq)).toEqual([2, 3]);
    expect(filterLines(lines, "error").map((l) => l.seq)).toEqual([3]);
    expect(countLevels(lines)).toEqual({ info: 1, warning: 1, error: 1 });
    expect(logTime("2026-01-01T10:11:12.345Z")).toBe("10:11:12.345");
  });

  it("shows each line with its level", () => {
    const html = renderToStaticMarkup(<LogTail lines={lines} finished={false} />);
    expect(html).toContain('data-level="warning"');
    expect(html).toContain('<span class="log-level">ERROR</span>boom');
    expect(html).toContain("1 error<");
    expect(renderToStaticMarkup(<LogTail lines={[]} finished={false} />)).toContain("Waiting for log lines");
  });

  it("offers the lines before the oldest it holds", () => {
    const load = () => Promise.resolve(0);
    const later = [line(4501, "info", "a"), line(4502, "info", "b")];
    const html = renderToStaticMarkup(<LogTail lines={later} finished={false} onLoadEarlier={load} />);
    expect(html).toContain('data-testid="log-earlier"');
    expect(html).toContain("Load earlier lines (4,500 not shown)");
    expect(linesBefore(later)).toBe(4500);
    // From the first line on, or without a way to load them, there is nothing to offer.
    expect(renderToStaticMarkup(<LogTail lines={lines} finished={false} onLoadEarlier={load} />)).not.toContain("log-earlier");
    expect(renderToStaticMarkup(<LogTail lines={later} finished={false} />)).not.toContain("log-earlier");
  });
});

describe("run page parts", () => {
  it("shows the worker's last heartbeat while it owns the run, and warns when it goes quiet", () => {
    const at = "2026-01-01T12:00:00Z";
    const now = (seconds: number) => Date.parse(at) + seconds * 1000;
    const html = renderToStaticMarkup(<RunHeartbeat status="running" heartbeatAt={at} now={now(3)} />);
    expect(html).toContain(">Worker alive · 3 s ago<");
    expect(html).toContain(`title="${at}"`);
    expect(html).toContain('data-stale="false"');
    expect(renderToStaticMarkup(<RunHeartbeat status="starting" heartbeatAt={at} now={now(30)} />)).toContain("Worker alive · 30 s ago");
    // A browser clock a little behind the server's.
    expect(renderToStaticMarkup(<RunHeartbeat status="running" heartbeatAt={at} now={now(-2)} />)).toContain("Worker alive · just now");

    const quiet = renderToStaticMarkup(<RunHeartbeat status="running" heartbeatAt={at} now={now(45)} />);
    expect(quiet).toContain(">No sign of life from the worker for 45 s<");
    expect(quiet).toContain('data-stale="true"');
    expect(quiet).toContain("heartbeat-stale");
    expect(renderToStaticMarkup(<RunHeartbeat status="cancelling" heartbeatAt={at} now={now(75)} />)).toContain("for 1 min 15 s");

    // Nothing before a worker has claimed the run, or once it has ended.
    expect(renderToStaticMarkup(<RunHeartbeat status="queued" heartbeatAt={null} now={now(0)} />)).toBe("");
    expect(renderToStaticMarkup(<RunHeartbeat status="running" heartbeatAt={null} now={now(0)} />)).toBe("");
    expect(renderToStaticMarkup(<RunHeartbeat status="succeeded" heartbeatAt={at} now={now(3)} />)).toBe("");
    expect(renderToStaticMarkup(<RunHeartbeat status="lost" heartbeatAt={at} now={now(90)} />)).toBe("");
  });

  it("lists transitions with their reasons and the time between them", () => {
    const html = renderToStaticMarkup(
      <RunTimeline
        events={[
          eventOf(null, "queued", "2026-01-01T00:00:00Z", "Started by ada."),
          eventOf("queued", "starting", "2026-01-01T00:00:01.5Z", "Claimed by the worker on host (pid 7)."),
        ]}
      />,
    );
    expect(html.match(/data-testid="run-event"/g)).toHaveLength(2);
    expect(html).toContain("Claimed by the worker on host (pid 7).");
    expect(html).toContain("(+1.5 s)");
    expect(html).toContain("created");
  });

  it("shows alerts newest first with their severity", () => {
    const html = renderToStaticMarkup(
      <RunAlerts
        alerts={[
          { node: "watch", severity: "warning", message: "first", at: "2026-01-01T00:00:00Z" },
          { node: "watch", severity: "critical", message: "second", at: "2026-01-01T00:00:01Z" },
        ]}
      />,
    );
    expect(html.indexOf("second")).toBeLessThan(html.indexOf("first"));
    expect(html).toContain("alert-critical");
    const delivery = (status: "pending" | "delivered" | "failed") => ({
      id: 1,
      webhook: 1,
      url: "https://hooks.example/a",
      status,
      attempts: 1,
      next_attempt_at: null,
      delivered_at: null,
    });
    expect(deliverySummary([delivery("delivered"), delivery("failed"), delivery("delivered")])).toBe("webhooks: 2 delivered, 1 failed");
    expect(deliverySummary([])).toBeNull();
    expect(renderToStaticMarkup(<RunAlerts alerts={[]} />)).toContain("No alerts.");
  });

  it("shows progress as a bar with the nodes done", () => {
    const html = renderToStaticMarkup(<RunProgress nodes={[nodeOf("a", { status: "succeeded" }), nodeOf("b")]} status="running" />);
    expect(html).toContain('aria-valuenow="50"');
    expect(html).toContain("1 of 2 nodes done (50%)");
  });

  it("moves the bar with the job's tasks while it runs", () => {
    const tasks = { tasks_done: 3, tasks_total: 4, stage: 1 };
    const html = renderToStaticMarkup(<RunProgress nodes={[nodeOf("a"), nodeOf("b")]} status="running" tasks={tasks} />);
    expect(html).toContain('aria-valuenow="75"');
    expect(html).toContain('data-tasks-done="3"');
    expect(html).toContain('data-tasks-total="4"');
    expect(html).toContain("0 of 2 nodes done; 3 of 4 tasks (75%)");
  });
});

describe("parameter fields", () => {
  const parameters: PipelineParameter[] = [
    { name: "min_amount", type: "double", default: 250 },
    { name: "dry_run", type: "boolean", default: false },
    { name: "day", type: "date", default: "2026-01-01" },
  ];

  it("start from the defaults (or given values) and give typed values back", () => {
    const draft = parameterDraft(parameters, { day: "2026-02-02" });
    expect(draft).toEqual({ min_amount: "250", dry_run: false, day: "2026-02-02" });
    expect(parameterValues(parameters, { ...draft, min_amount: "99.5", dry_run: true })).toEqual({
      min_amount: 99.5,
      dry_run: true,
      day: "2026-02-02",
    });
  });

  it("render a field per parameter of the right kind", () => {
    const html = renderToStaticMarkup(
      <ParameterFields parameters={parameters} draft={parameterDraft(parameters)} onChange={() => undefined} testIdPrefix="p" />,
    );
    expect(html).toContain('type="checkbox" data-testid="p-dry_run"');
    expect(html).toContain('data-testid="p-day" type="date" value="2026-01-01"');
    expect(html).toContain('data-testid="p-min_amount" type="text" value="250"');
  });
});
