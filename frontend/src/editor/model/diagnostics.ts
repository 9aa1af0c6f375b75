import type { Diagnostic, SchemaField, ValidationResult } from "../../api/types";

export interface NodeDiagnostics {
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export interface DiagnosticsIndex {
  valid: boolean;
  /** Errors then warnings, with `node` filled in from the path when the server left it null. */
  all: Diagnostic[];
  byNode: Record<string, NodeDiagnostics>;
  errorCounts: Record<string, number>;
  schemas: Record<string, Record<string, SchemaField[]>>;
}

export const EMPTY_DIAGNOSTICS: DiagnosticsIndex = {
  valid: true,
  all: [],
  byNode: {},
  errorCounts: {},
  schemas: {},
};

const NODE_PATH = /^\$\.nodes\[(\d+)\]/;

/** The node a diagnostic is about: its `node`, or the node its JSON path points into. */
export function diagnosticNode(diagnostic: Diagnostic, nodeIds: readonly string[]): string | null {
  if (diagnostic.node) return diagnostic.node;
  const match = NODE_PATH.exec(diagnostic.path);
  if (!match?.[1]) return null;
  return nodeIds[Number(match[1])] ?? null;
}

/**
 * Groups a validation result by node. `nodeIds` is the node order of the document that was
 * validated, used to attribute `$.nodes[i]...` paths.
 */
export function indexDiagnostics(result: ValidationResult, nodeIds: readonly string[]): DiagnosticsIndex {
  const byNode: Record<string, NodeDiagnostics> = {};
  const errorCounts: Record<string, number> = {};
  const all: Diagnostic[] = [];
  const add = (diagnostic: Diagnostic, kind: keyof NodeDiagnostics) => {
    const node = diagnosticNode(diagnostic, nodeIds);
    const resolved = { ...diagnostic, node };
    all.push(resolved);
    if (!node) return;
    const entry = (byNode[node] ??= { errors: [], warnings: [] });
    entry[kind].push(resolved);
    if (kind === "errors") errorCounts[node] = (errorCounts[node] ?? 0) + 1;
  };
  for (const error of result.errors) add(error, "errors");
  for (const warning of result.warnings) add(warning, "warnings");
  return { valid: result.valid, all, byNode, errorCounts, schemas: result.schemas ?? {} };
}
