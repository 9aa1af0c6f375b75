import { useState } from "react";
import type { FormEvent } from "react";
import { api } from "../api/endpoints";
import { errorSentences, fieldErrorsOf } from "../api/errors";
import type { PipelineDetail } from "../api/types";
import { formatDuration } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { parsePolicy, policyDraft, retryDelays } from "./policy";
import type { PolicyDraft, PolicyErrors } from "./policy";

/** The pipeline's run settings: retries and their backoff, a timeout, and whether runs may overlap. */
export function RunPolicyForm({
  pipeline,
  canChange,
  onSaved,
}: {
  pipeline: PipelineDetail;
  canChange: boolean;
  onSaved: (pipeline: PipelineDetail) => void;
}) {
  const [draft, setDraft] = useState<PolicyDraft>(() => policyDraft(pipeline));
  const [errors, setErrors] = useState<PolicyErrors>({});
  const [messages, setMessages] = useState<string[]>([]);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  const change = (patch: Partial<PolicyDraft>) => {
    setDraft({ ...draft, ...patch });
    setSaved(false);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parsePolicy(draft);
    setMessages([]);
    if (parsed.errors) {
      setErrors(parsed.errors);
      return;
    }
    setErrors({});
    setSaving(true);
    try {
      const updated = await api.pipelines.update(pipeline.id, parsed.policy);
      setDraft(policyDraft(updated));
      setSaved(true);
      onSaved(updated);
    } catch (error) {
      const fields = fieldErrorsOf(error);
      setErrors(Object.fromEntries(Object.entries(fields).map(([field, sentences]) => [field, sentences.join(" ")])));
      if (Object.keys(fields).length === 0) setMessages(errorSentences(error));
    } finally {
      setSaving(false);
    }
  };

  const parsed = parsePolicy(draft).policy;
  const delays = parsed ? retryDelays(parsed) : [];

  return (
    <form className="policy-form" data-testid="run-policy" onSubmit={(e) => void submit(e)} noValidate>
      <fieldset disabled={!canChange || saving}>
        <label className="stacked-field">
          Attempts in all
          <input
            data-testid="policy-max-attempts"
            inputMode="numeric"
            value={draft.max_attempts}
            aria-invalid={errors.max_attempts ? true : undefined}
            onChange={(e) => change({ max_attempts: e.target.value })}
          />
          <span className="muted small">A run whose worker died or was stopped is retried until this many runs (1–10).</span>
          {errors.max_attempts && <span className="field-error">{errors.max_attempts}</span>}
        </label>
        <label className="stacked-field">
          Backoff before the first retry (seconds)
          <input
            data-testid="policy-backoff"
            inputMode="numeric"
            value={draft.retry_backoff_seconds}
            aria-invalid={errors.retry_backoff_seconds ? true : undefined}
            onChange={(e) => change({ retry_backoff_seconds: e.target.value })}
          />
          <span className="muted small">
            Doubled for each further retry.
            {delays.length > 0 && ` Retries wait ${delays.map((d) => formatDuration(d) || "0 s").join(", ")}.`}
          </span>
          {errors.retry_backoff_seconds && <span className="field-error">{errors.retry_backoff_seconds}</span>}
        </label>
        <label className="stacked-field">
          Timeout (seconds)
          <input
            data-testid="policy-timeout"
            inputMode="numeric"
            placeholder="no limit"
            value={draft.timeout_seconds}
            aria-invalid={errors.timeout_seconds ? true : undefined}
            onChange={(e) => change({ timeout_seconds: e.target.value })}
          />
          <span className="muted small">A longer run is stopped and fails. Empty: no limit.</span>
          {errors.timeout_seconds && <span className="field-error">{errors.timeout_seconds}</span>}
        </label>
        <label className="checkbox-field">
          <input
            type="checkbox"
            data-testid="policy-concurrent"
            checked={draft.allow_concurrent_runs}
            onChange={(e) => change({ allow_concurrent_runs: e.target.checked })}
          />
          Allow concurrent runs of this pipeline
        </label>
        <div className="row">
          <button type="submit" className="primary" data-testid="policy-save">
            {saving ? "Saving…" : "Save settings"}
          </button>
          {saved && (
            <span className="notice" role="status" data-testid="policy-saved">
              Saved.
            </span>
          )}
          {!canChange && <span className="muted small">Editors may change these settings.</span>}
        </div>
      </fieldset>
      <ErrorMessages messages={messages} />
    </form>
  );
}
