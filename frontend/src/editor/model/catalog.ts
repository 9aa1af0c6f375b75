import type { JsonObject } from "../../api/types";

/** Every node type of `studio.pipeline/v1` (PIPELINE_FORMAT.md, "Node types"). */
export const NODE_TYPES = [
  "source.file",
  "source.kafka",
  "source.iceberg",
  "transform.select",
  "transform.filter",
  "transform.derive",
  "transform.join",
  "transform.aggregate",
  "transform.window_aggregate",
  "transform.deduplicate",
  "transform.union",
  "transform.sort",
  "transform.limit",
  "transform.sql",
  "transform.quality",
  "sink.iceberg",
  "sink.file",
  "sink.kafka",
  "sink.alert",
] as const;

export type NodeType = (typeof NODE_TYPES)[number];

export type NodeCategory = "source" | "transform" | "sink";

export interface PortSpec {
  name: string;
  /** Whether several edges may arrive at this input port. */
  multiple: boolean;
}

export interface NodeSpec {
  type: NodeType;
  category: NodeCategory;
  title: string;
  description: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  /** Config keys from the format table, shown as a hint next to the JSON editor. */
  keys: string;
  defaultConfig: () => JsonObject;
}

const single = (name: string): PortSpec => ({ name, multiple: false });
const many = (name: string): PortSpec => ({ name, multiple: true });

const SOURCE_PORTS = { inputs: [], outputs: [single("out")] };
const TRANSFORM_PORTS = { inputs: [single("in")], outputs: [single("out")] };
const SINK_PORTS = { inputs: [single("in")], outputs: [] };

export const NODE_SPECS: Record<NodeType, NodeSpec> = {
  "source.file": {
    type: "source.file",
    category: "source",
    title: "File",
    description: "Read CSV, JSON or Parquet files from the landing zone.",
    ...SOURCE_PORTS,
    keys: "path, format, schema, options {header, delimiter}, streaming",
    defaultConfig: () => ({ format: "csv", options: { header: true } }),
  },
  "source.kafka": {
    type: "source.kafka",
    category: "source",
    title: "Kafka",
    description: "Read a Kafka topic.",
    ...SOURCE_PORTS,
    keys: "connection?, topic, format (json | debezium-json), schema, starting_offsets, streaming, event_time, watermark",
    defaultConfig: () => ({ topic: "", format: "json" }),
  },
  "source.iceberg": {
    type: "source.iceberg",
    category: "source",
    title: "Iceberg table",
    description: "Read an Iceberg table, optionally at a snapshot.",
    ...SOURCE_PORTS,
    keys: "table, snapshot_id | as_of, streaming",
    defaultConfig: () => ({ table: "" }),
  },
  "transform.select": {
    type: "transform.select",
    category: "transform",
    title: "Select",
    description: "Keep, rename and cast columns.",
    ...TRANSFORM_PORTS,
    keys: "columns [{name, alias?, type?}]",
    defaultConfig: () => ({}),
  },
  "transform.filter": {
    type: "transform.filter",
    category: "transform",
    title: "Filter",
    description: "Keep the rows where a condition holds.",
    ...TRANSFORM_PORTS,
    keys: "condition",
    defaultConfig: () => ({}),
  },
  "transform.derive": {
    type: "transform.derive",
    category: "transform",
    title: "Derive",
    description: "Add or replace columns computed from expressions.",
    ...TRANSFORM_PORTS,
    keys: "columns [{name, expression}]",
    defaultConfig: () => ({}),
  },
  "transform.join": {
    type: "transform.join",
    category: "transform",
    title: "Join",
    description: "Join two inputs on key columns.",
    inputs: [single("left"), single("right")],
    outputs: [single("out")],
    keys: "how (inner | left | right | full | semi | anti), on [{left, right}], condition?, right_suffix?",
    defaultConfig: () => ({ how: "inner", on: [] }),
  },
  "transform.aggregate": {
    type: "transform.aggregate",
    category: "transform",
    title: "Aggregate",
    description: "Group rows and compute aggregates.",
    ...TRANSFORM_PORTS,
    keys: "group_by [columns], aggregations [{name, function, column?}]",
    defaultConfig: () => ({ group_by: [], aggregations: [] }),
  },
  "transform.window_aggregate": {
    type: "transform.window_aggregate",
    category: "transform",
    title: "Window aggregate",
    description: "Aggregate over tumbling, hopping or session windows.",
    ...TRANSFORM_PORTS,
    keys: "time_column, window {type, size, slide?, gap?}, watermark, group_by, aggregations",
    defaultConfig: () => ({
      time_column: "",
      window: { type: "tumbling", size: "1 minute" },
      watermark: "10 seconds",
      group_by: [],
      aggregations: [],
    }),
  },
  "transform.deduplicate": {
    type: "transform.deduplicate",
    category: "transform",
    title: "Deduplicate",
    description: "Keep one row per key.",
    ...TRANSFORM_PORTS,
    keys: "keys, order_by? {column, direction}, keep (first | last)",
    defaultConfig: () => ({ keys: [], keep: "first" }),
  },
  "transform.union": {
    type: "transform.union",
    category: "transform",
    title: "Union",
    description: "Stack the rows of several inputs.",
    inputs: [many("in")],
    outputs: [single("out")],
    keys: "by_name (default true), allow_missing (default false)",
    defaultConfig: () => ({}),
  },
  "transform.sort": {
    type: "transform.sort",
    category: "transform",
    title: "Sort",
    description: "Order rows (batch only).",
    ...TRANSFORM_PORTS,
    keys: "order [{column, direction, nulls}]",
    defaultConfig: () => ({ order: [] }),
  },
  "transform.limit": {
    type: "transform.limit",
    category: "transform",
    title: "Limit",
    description: "Keep the first n rows (batch only).",
    ...TRANSFORM_PORTS,
    keys: "n",
    defaultConfig: () => ({ n: 100 }),
  },
  "transform.sql": {
    type: "transform.sql",
    category: "transform",
    title: "SQL",
    description: "A Spark SQL query over the inputs, named by their node ids.",
    inputs: [many("in")],
    outputs: [single("out")],
    keys: "query",
    defaultConfig: () => ({ query: "" }),
  },
  "transform.quality": {
    type: "transform.quality",
    category: "transform",
    title: "Quality rules",
    description: "Check rules per row; failing rows can be quarantined.",
    inputs: [single("in")],
    outputs: [single("out"), single("rejected")],
    keys: "rules [{name, expression, on_fail (warn | drop | quarantine | fail)}]",
    defaultConfig: () => ({ rules: [] }),
  },
  "sink.iceberg": {
    type: "sink.iceberg",
    category: "sink",
    title: "Iceberg table",
    description: "Write to an Iceberg table.",
    ...SINK_PORTS,
    keys: "table, mode (append | overwrite | upsert), keys, partition_by [{column, transform}], create_if_missing",
    defaultConfig: () => ({ table: "", mode: "append" }),
  },
  "sink.file": {
    type: "sink.file",
    category: "sink",
    title: "File",
    description: "Write Parquet, CSV or JSON files.",
    ...SINK_PORTS,
    keys: "path, format, mode, partition_by",
    defaultConfig: () => ({ format: "parquet", mode: "overwrite" }),
  },
  "sink.kafka": {
    type: "sink.kafka",
    category: "sink",
    title: "Kafka",
    description: "Write rows to a Kafka topic.",
    ...SINK_PORTS,
    keys: "connection?, topic, key_columns?, format (json)",
    defaultConfig: () => ({ topic: "", format: "json" }),
  },
  "sink.alert": {
    type: "sink.alert",
    category: "sink",
    title: "Alert",
    description: "Raise an alert for each arriving row.",
    ...SINK_PORTS,
    keys: "condition?, message (template with {column}), severity (info | warning | critical)",
    defaultConfig: () => ({ message: "", severity: "warning" }),
  },
};

export const CATEGORY_TITLES: Record<NodeCategory, string> = {
  source: "Sources",
  transform: "Transforms",
  sink: "Sinks",
};

export function isNodeType(value: string): value is NodeType {
  return (NODE_TYPES as readonly string[]).includes(value);
}

export function nodeSpec(type: string): NodeSpec | null {
  return isNodeType(type) ? NODE_SPECS[type] : null;
}

export function inputPorts(type: string): PortSpec[] {
  return nodeSpec(type)?.inputs ?? [];
}

export function outputPorts(type: string): PortSpec[] {
  return nodeSpec(type)?.outputs ?? [];
}

export function specsByCategory(category: NodeCategory): NodeSpec[] {
  return NODE_TYPES.map((type) => NODE_SPECS[type]).filter((spec) => spec.category === category);
}
