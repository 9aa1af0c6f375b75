import { useState } from "react";
import type { FormEvent } from "react";
import type { Engine, ParameterValues } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { Modal } from "../ui/Modal";
import { ParameterFields, parameterDraft, parameterValues } from "./ParameterFields";

/** Values for the document's declared parameters, pre-filled with their defaults. */
export function RunParametersModal({
  parameters,
  engine,
  onRun,
  onClose,
}: {
  parameters: PipelineParameter[];
  engine: Engine;
  onRun: (values: ParameterValues) => void;
  onClose: () => void;
}) {
  const [draft, setDraft] = useState(() => parameterDraft(parameters));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onRun(parameterValues(parameters, draft));
  };

  return (
    <Modal title={`Run on ${engine}`} onClose={onClose} testId="run-parameters">
      <form onSubmit={submit} className="config-form">
        <ParameterFields parameters={parameters} draft={draft} onChange={setDraft} testIdPrefix="run-param" />
        <div className="row">
          <button type="submit" className="primary" data-testid="run-start">
            Run
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
