import { useMemo } from "react";
import type { StreamBatch } from "../api/types";
import { LineChart } from "../ui/charts";
import { lagSeries, throughputSeries } from "./runMetrics";

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** A stream's throughput, and its sources' lag where they report one, per micro-batch, updated live. */
export function StreamCharts({ batches }: { batches: StreamBatch[] }) {
  const throughput = useMemo(() => throughputSeries(batches), [batches]);
  const lag = useMemo(() => lagSeries(batches), [batches]);
  const last = batches.at(-1);
  return (
    <div className="stream-charts" data-testid="stream-charts">
      <h3>
        Throughput{" "}
        <span className="muted small">{last ? `${batches.length} micro-batches, the last #${last.batch}` : "waiting for the first micro-batch"}</span>
      </h3>
      <LineChart series={throughput} unit="rows/s" formatX={clock} testId="throughput-chart" />
      {lag.length > 0 && (
        <>
          <h3>Lag</h3>
          <LineChart series={lag} unit="records behind" formatX={clock} testId="lag-chart" />
        </>
      )}
    </div>
  );
}
