/** Small, dependency-free helpers for the SVG charts. */

export interface Point {
  x: number;
  y: number;
}

export type Scale = (value: number) => number;

/** Maps [d0, d1] onto [r0, r1]; a zero-width domain maps to the middle of the range. */
export function scaleLinear([d0, d1]: [number, number], [r0, r1]: [number, number]): Scale {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (value) => r0 + (value - d0) * k;
}

/** The smallest 1, 2 or 5 times a power of ten that is at least `value` (an axis maximum). */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value * (1 - 1e-9)) return step * power;
  }
  return 10 * power;
}

export function extent(values: number[]): [number, number] | null {
  if (values.length === 0) return null;
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

/** An SVG path through the points, in order ("M x y L x y ..."), rounded to 0.1 px. */
export function linePath(points: Point[], x: Scale, y: Scale): string {
  return points
    .map((p, i) => `${i === 0 ? "M" : "L"}${Math.round(x(p.x) * 10) / 10} ${Math.round(y(p.y) * 10) / 10}`)
    .join(" ");
}

/** Compact axis labels: 950, 1.2k, 3.4M. */
export function compactNumber(value: number): string {
  const size = Math.abs(value);
  if (size >= 1e9) return `${trim(value / 1e9)}G`;
  if (size >= 1e6) return `${trim(value / 1e6)}M`;
  if (size >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) < 10 ? 1 : 0).replace(/\.0$/, "");
}
