import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { NODE_STATUSES, RUN_STATUSES } from "../api/types";
import { NodeStatusBadge, RunStatusBadge } from "./RunStatusBadge";

describe("status badges", () => {
  it("show every run status with a tone and a tooltip saying what it means", () => {
    const tones = RUN_STATUSES.map((status) => {
      const html = renderToStaticMarkup(<RunStatusBadge status={status} testId="s" />);
      expect(html).toContain(`>${status}</span>`);
      expect(html).toContain(`data-status="${status}"`);
      expect(html).toMatch(/title="[A-Z][^"]+\."/);
      return /tone-(\w+)/.exec(html)?.[1];
    });
    expect(tones).toEqual(["neutral", "active", "active", "warn", "good", "bad", "neutral", "bad"]);
  });

  it("pulse only while something is happening", () => {
    const pulsing = RUN_STATUSES.filter((status) => renderToStaticMarkup(<RunStatusBadge status={status} />).includes("status-pulse"));
    expect(pulsing).toEqual(["starting", "running"]);
    const nodes = NODE_STATUSES.filter((status) => renderToStaticMarkup(<NodeStatusBadge status={status} />).includes("status-pulse"));
    expect(nodes).toEqual(["running"]);
  });
});
