import { useReactFlow } from "@xyflow/react";
import type { Diagnostic, Engine } from "../../api/types";
import { DiagnosticList } from "../../ui/Messages";
import { useEditorStore } from "../store";
import { useLiveValidation } from "../useLiveValidation";

/**
 * Runs live validation for `engine` and lists every diagnostic of the last answer; clicking one
 * selects (and shows) its node.
 */
export function ProblemsList({ engine }: { engine: Engine }) {
  const status = useLiveValidation(engine);
  const diagnostics = useEditorStore((s) => s.diagnostics);
  const selectNode = useEditorStore((s) => s.selectNode);
  const { fitView } = useReactFlow();
  const errors = diagnostics.all.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.all.length - errors;

  const select = (diagnostic: Diagnostic) => {
    if (!diagnostic.node) return;
    selectNode(diagnostic.node);
    void fitView({ nodes: [{ id: diagnostic.node }], duration: 300, maxZoom: 1.2 });
  };

  return (
    <section className="problems" data-testid="problems" aria-label="Problems">
      <header className="problems-head">
        <h3>
          Problems
          <span className="count count-error">{errors} errors</span>
          <span className="count count-warning">{warnings} warnings</span>
        </h3>
        {status.kind === "checking" && <span className="muted small">Checking…</span>}
      </header>
      {status.kind === "failed" && (
        <p className="field-error" role="alert">
          Validation is unavailable: {status.message}
        </p>
      )}
      {diagnostics.all.length === 0 && status.kind !== "failed" && <p className="muted small">No problems found.</p>}
      <DiagnosticList diagnostics={diagnostics.all} onSelect={select} />
    </section>
  );
}
