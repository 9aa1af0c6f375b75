import { describe, expect, it } from "vitest";
import type { LineageRecord, RecordDataset } from "../catalog/api";
import { RunDatasets } from "./RunLineage";
import { markupInRouter as html } from "../ui/markup";

const dataset = (id: number, uri: string, node: string, direction: RecordDataset["direction"], rows: number | null): RecordDataset => ({
  id,
  uri,
  kind: "file",
  namespace: "file",
  name: uri,
  format: "csv",
  node,
  direction,
  rows,
  schema: [],
  quality_nodes: [],
  quarantine_of: [],
});

const record: LineageRecord = {
  pipeline: 1,
  version: 2,
  run: 12,
  parameters: {},
  datasets: [
    dataset(4, "file:landing/orders/orders.csv", "orders", "input", 5000),
    dataset(9, "file:curated/big_orders", "curated_big_orders", "output", 1234),
  ],
  columns: [],
  compiler: {},
};

describe("a run's lineage and quality links", () => {
  it("links each dataset it read and wrote to its lineage graph, and the run to its quality page", () => {
    const markup = html(<RunDatasets runId={12} record={record} message={null} />);
    expect(markup).toContain('href="/lineage/datasets/4"');
    expect(markup).toContain('href="/lineage/datasets/9"');
    expect(markup.indexOf("Reads")).toBeLessThan(markup.indexOf("file:landing/orders/orders.csv"));
    expect(markup.indexOf("Writes")).toBeLessThan(markup.indexOf("file:curated/big_orders"));
    expect(markup).toContain("1,234 rows");
    expect(markup).toContain('data-testid="run-quality-link" href="/runs/12/quality"');
  });

  it("still leads to the quality page before the job has recorded its lineage", () => {
    const markup = html(<RunDatasets runId={12} record={null} message="Recorded when its job starts." />);
    expect(markup).toContain("Recorded when its job starts.");
    expect(markup).toContain('href="/runs/12/quality"');
  });
});
