import { useState } from "react";
import type { CompileResult, Diagnostic } from "../../api/types";
import { DiagnosticList, ErrorMessages } from "../../ui/Messages";
import { Modal } from "../../ui/Modal";

export type CompileOutcome =
  | { kind: "compiling" }
  | { kind: "compiled"; result: CompileResult }
  | { kind: "invalid"; errors: Diagnostic[] }
  | { kind: "failed"; messages: string[] };

/** Generated code (read-only, monospace, scrollable), or why the pipeline did not compile. */
export function CompileModal({ outcome, onClose }: { outcome: CompileOutcome; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const title = outcome.kind === "compiled" ? `Generated code (${outcome.result.engine}, ${outcome.result.language})` : "Compile";

  const copy = async (code: string) => {
    await navigator.clipboard.writeText(code);
    setCopied(true);
  };

  return (
    <Modal
      title={title}
      onClose={onClose}
      wide
      testId="compile-modal"
      footer={
        outcome.kind === "compiled" && (
          <button type="button" onClick={() => void copy(outcome.result.code)}>
            {copied ? "Copied" : "Copy"}
          </button>
        )
      }
    >
      {outcome.kind === "compiling" && <p className="muted">Compiling…</p>}
      {outcome.kind === "compiled" && (
        <pre className="code-view" data-testid="compiled-code" tabIndex={0}>
          {outcome.result.code}
        </pre>
      )}
      {outcome.kind === "invalid" && (
        <div data-testid="compile-errors">
          <p>The pipeline cannot be compiled until these errors are fixed:</p>
          <DiagnosticList diagnostics={outcome.errors} />
        </div>
      )}
      {outcome.kind === "failed" && <ErrorMessages messages={outcome.messages} testId="compile-errors" />}
    </Modal>
  );
}
