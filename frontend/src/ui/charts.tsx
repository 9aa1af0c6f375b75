import { compactNumber, extent, linePath, niceCeiling, scaleLinear } from "./chartScale";
import type { Point } from "./chartScale";
import type { Tone } from "./tone";

const MARGIN = { top: 10, right: 12, bottom: 22, left: 44 };

export interface Series {
  name: string;
  points: Point[];
}

function YAxis({ max, height, width, unit }: { max: number; height: number; width: number; unit: string }) {
  const y = scaleLinear([0, max], [height - MARGIN.bottom, MARGIN.top]);
  return (
    <g className="chart-axis">
      {[0, max / 2, max].map((tick) => (
        <g key={tick}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(tick)} y2={y(tick)} className="chart-grid" />
          <text x={MARGIN.left - 6} y={y(tick) + 4} textAnchor="end">
            {compactNumber(tick)}
          </text>
        </g>
      ))}
      <text x={MARGIN.left} y={MARGIN.top - 2} className="chart-unit">
        {unit}
      </text>
    </g>
  );
}

/**
 * Lines over a numeric x axis (times in ms), y from 0. Each series keeps its colour by position;
 * the legend shows each one's latest value.
 */
export function LineChart({
  series,
  unit,
  formatX,
  width = 560,
  height = 170,
  testId,
}: {
  series: Series[];
  unit: string;
  formatX: (x: number) => string;
  width?: number;
  height?: number;
  testId?: string;
}) {
  const points = series.flatMap((s) => s.points);
  const xs = extent(points.map((p) => p.x));
  const max = niceCeiling(Math.max(0, ...points.map((p) => p.y)));
  const x = scaleLinear(xs ?? [0, 1], [MARGIN.left, width - MARGIN.right]);
  const y = scaleLinear([0, max], [height - MARGIN.bottom, MARGIN.top]);
  return (
    <figure className="chart" data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${unit} over time`}>
        <YAxis max={max} height={height} width={width} unit={unit} />
        {xs && (
          <g className="chart-axis">
            <text x={MARGIN.left} y={height - 6}>
              {formatX(xs[0])}
            </text>
            <text x={width - MARGIN.right} y={height - 6} textAnchor="end">
              {formatX(xs[1])}
            </text>
          </g>
        )}
        {series.map((s, i) => {
          const last = s.points.at(-1);
          return (
            <g key={s.name} className={`chart-series chart-series-${i % 6}`}>
              <path d={linePath(s.points, x, y)} fill="none" />
              {last && <circle cx={x(last.x)} cy={y(last.y)} r={3} />}
            </g>
          );
        })}
        {!xs && (
          <text x={width / 2} y={height / 2} textAnchor="middle" className="chart-empty">
            No data yet
          </text>
        )}
      </svg>
      {series.length > 0 && (
        <figcaption className="chart-legend">
          {series.map((s, i) => (
            <span key={s.name} className={`chart-key chart-series-${i % 6}`}>
              {s.name}: {s.points.length ? `${compactNumber(s.points.at(-1)?.y ?? 0)} ${unit}` : "—"}
            </span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}

export interface Bar {
  key: string | number;
  /** Null for a bar with no value yet (drawn as a stub). */
  value: number | null;
  tone: Tone;
  title: string;
}

/** Bars in order from left to right, y from 0; a click on a bar calls `onSelect` with its key. */
export function BarChart({
  bars,
  unit,
  onSelect,
  width = 720,
  height = 180,
  testId,
}: {
  bars: Bar[];
  unit: string;
  onSelect?: (key: Bar["key"]) => void;
  width?: number;
  height?: number;
  testId?: string;
}) {
  const max = niceCeiling(Math.max(0, ...bars.map((b) => b.value ?? 0)));
  const y = scaleLinear([0, max], [height - MARGIN.bottom, MARGIN.top]);
  const slot = (width - MARGIN.left - MARGIN.right) / Math.max(bars.length, 1);
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  return (
    <figure className="chart" data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${unit} per run`}>
        <YAxis max={max} height={height} width={width} unit={unit} />
        {bars.map((bar, i) => {
          const top = bar.value === null ? y(0) - 2 : Math.min(y(bar.value), y(0) - 1);
          return (
            <rect
              key={bar.key}
              className={`chart-bar tone-${bar.tone}${bar.value === null ? " chart-bar-pending" : ""}${onSelect ? " clickable" : ""}`}
              x={MARGIN.left + slot * i + (slot - barWidth) / 2}
              y={top}
              width={barWidth}
              height={y(0) - top}
              data-key={bar.key}
              onClick={onSelect ? () => onSelect(bar.key) : undefined}
            >
              <title>{bar.title}</title>
            </rect>
          );
        })}
        {bars.length === 0 && (
          <text x={width / 2} y={height / 2} textAnchor="middle" className="chart-empty">
            No data yet
          </text>
        )}
      </svg>
    </figure>
  );
}
