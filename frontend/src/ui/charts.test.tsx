import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { compactNumber, extent, linePath, niceCeiling, scaleLinear } from "./chartScale";
import { BarChart, LineChart } from "./charts";

describe("chart scales", () => {
  it("maps a domain onto a range, and a single value onto the middle", () => {
    const x = scaleLinear([0, 10], [100, 200]);
    expect([x(0), x(5), x(10)]).toEqual([100, 150, 200]);
    expect(scaleLinear([3, 3], [0, 50])(3)).toBe(25);
  });

  it("rounds axis maxima up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.3, 1, 7, 12, 180, 2001].map(niceCeiling)).toEqual([1, 0.5, 1, 10, 20, 200, 5000]);
  });

  it("labels compactly and draws paths through points in order", () => {
    expect([950, 1200, 12345, 3_400_000].map(compactNumber)).toEqual(["950", "1.2k", "12k", "3.4M"]);
    expect(extent([3, -1, 8])).toEqual([-1, 8]);
    expect(extent([])).toBeNull();
    const identity = (v: number) => v;
    expect(linePath([{ x: 0, y: 1 }, { x: 2.04, y: 3 }], identity, identity)).toBe("M0 1 L2 3");
  });
});

describe("charts", () => {
  it("draws a line per series with its latest value in the legend", () => {
    const html = renderToStaticMarkup(
      <LineChart
        unit="rows/s"
        formatX={(x) => `t${x}`}
        series={[
          { name: "Clicks", points: [{ x: 0, y: 10 }, { x: 10, y: 40 }] },
          { name: "Views", points: [{ x: 5, y: 1500 }] },
        ]}
      />,
    );
    expect(html.match(/<path /g)).toHaveLength(2);
    expect(html).toContain("Clicks: 40 rows/s");
    expect(html).toContain("Views: 1.5k rows/s");
    expect(html).toContain(">t0<");
    expect(html).toContain(">t10<");
    expect(html).toContain(">2k<"); // the y axis goes up to the nice ceiling of 1,500
  });

  it("says so when there is nothing to draw", () => {
    expect(renderToStaticMarkup(<LineChart unit="rows/s" formatX={String} series={[]} />)).toContain("No data yet");
    expect(renderToStaticMarkup(<BarChart unit="seconds" bars={[]} />)).toContain("No data yet");
  });

  it("draws bars in order, taller for larger values, with a stub for a missing value", () => {
    const html = renderToStaticMarkup(
      <BarChart
        unit="seconds"
        height={200}
        bars={[
          { key: 1, value: 10, tone: "good", title: "one" },
          { key: 2, value: 40, tone: "bad", title: "two" },
          { key: 3, value: null, tone: "active", title: "three" },
        ]}
      />,
    );
    const heights = [...html.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toHaveLength(3);
    expect(heights[1]).toBeGreaterThan(heights[0] ?? Infinity);
    expect(heights[1]! / heights[0]!).toBeCloseTo(4);
    expect(heights[2]).toBe(2);
    expect(html).toContain("<title>two</title>");
    expect(html).toContain("chart-bar-pending");
  });
});
