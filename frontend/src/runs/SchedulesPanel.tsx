import { useEffect, useState } from "react";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import { errorSentence, errorSentences, fieldErrorsOf, isAbort } from "../api/errors";
import type { Engine, Schedule } from "../api/types";
import type { PipelineParameter } from "../editor/model/document";
import { formatDateTime, formatRelative } from "../ui/format";
import { ErrorMessages } from "../ui/Messages";
import { ParameterFields, ParameterValuesList, parameterDraft, parameterValues } from "./ParameterFields";
import { CRON_PRESETS, cronProblem } from "./schedules";
import { EngineField } from "./EngineField";

/** A pipeline's cron schedules: list, create (cron, engine, parameters), pause or resume, delete. */
export function SchedulesPanel({
  pipelineId,
  parameters,
  canRun,
}: {
  pipelineId: number;
  parameters: PipelineParameter[];
  canRun: boolean;
}) {
  const [schedules, setSchedules] = useState<Schedule[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api.schedules.list(pipelineId, controller.signal).then(setSchedules, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [pipelineId]);

  const replace = (schedule: Schedule) => setSchedules((list) => (list ?? []).map((s) => (s.id === schedule.id ? schedule : s)));

  const toggle = async (schedule: Schedule) => {
    setError(null);
    try {
      replace(await api.schedules.update(schedule.id, { enabled: !schedule.enabled }));
    } catch (e) {
      setError(errorSentence(e));
    }
  };

  const remove = async (schedule: Schedule) => {
    if (!window.confirm(`Delete the schedule "${schedule.cron}"? The runs it started stay.`)) return;
    setError(null);
    try {
      await api.schedules.remove(schedule.id);
      setSchedules((list) => (list ?? []).filter((s) => s.id !== schedule.id));
    } catch (e) {
      setError(errorSentence(e));
    }
  };

  return (
    <div className="schedules" data-testid="schedules">
      {error && <ErrorMessages messages={[error]} />}
      {schedules === null && !error && <p className="muted">Loading schedules…</p>}
      {schedules !== null && schedules.length === 0 && <p className="muted">No schedules: this pipeline runs only when started.</p>}
      {schedules !== null && schedules.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Engine</th>
              <th>Parameters</th>
              <th>Next run</th>
              <th>Last run</th>
              <th>Enabled</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {schedules.map((schedule) => (
              <tr key={schedule.id} data-testid="schedule-row" data-cron={schedule.cron}>
                <td>
                  <code>{schedule.cron}</code>
                </td>
                <td>{schedule.engine}</td>
                <td>
                  <ParameterValuesList values={schedule.parameters} />
                </td>
                <td data-testid="schedule-next">
                  {schedule.next_fire_at ? (
                    <span title={schedule.next_fire_at}>
                      {formatDateTime(schedule.next_fire_at)} <span className="muted small">({formatRelative(schedule.next_fire_at)})</span>
                    </span>
                  ) : (
                    <span className="muted">paused</span>
                  )}
                </td>
                <td>
                  {schedule.last_run !== null && <Link to={`/runs/${schedule.last_run}`}>#{schedule.last_run}</Link>}{" "}
                  {schedule.last_fired_at && <span className="muted small">{formatDateTime(schedule.last_fired_at)}</span>}
                  {schedule.last_error && <div className="field-error small">{schedule.last_error}</div>}
                </td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Enable the schedule ${schedule.cron}`}
                    data-testid="schedule-enabled"
                    checked={schedule.enabled}
                    disabled={!canRun}
                    onChange={() => void toggle(schedule)}
                  />
                </td>
                <td className="actions">
                  <button type="button" className="danger" data-testid="schedule-delete" disabled={!canRun} onClick={() => void remove(schedule)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canRun ? (
        <ScheduleForm
          pipelineId={pipelineId}
          parameters={parameters}
          onCreated={(schedule) => setSchedules((list) => [...(list ?? []), schedule])}
        />
      ) : (
        <p className="muted small">Operators may schedule runs.</p>
      )}
    </div>
  );
}

function ScheduleForm({
  pipelineId,
  parameters,
  onCreated,
}: {
  pipelineId: number;
  parameters: PipelineParameter[];
  onCreated: (schedule: Schedule) => void;
}) {
  const [cron, setCron] = useState("0 6 * * *");
  const [engine, setEngine] = useState<Engine>("spark");
  const [enabled, setEnabled] = useState(true);
  const [draft, setDraft] = useState(() => parameterDraft(parameters));
  const [cronError, setCronError] = useState<string | null>(null);
  const [messages, setMessages] = useState<string[]>([]);
  const [saving, setSaving] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setMessages([]);
    const problem = cronProblem(cron);
    setCronError(problem);
    if (problem) return;
    setSaving(true);
    try {
      onCreated(
        await api.schedules.create(pipelineId, { cron: cron.trim(), engine, enabled, parameters: parameterValues(parameters, draft) }),
      );
    } catch (error) {
      // A cron the server refuses is shown at the field; anything else (parameters) below the form.
      const { cron: cronMessages, ...others } = fieldErrorsOf(error);
      if (cronMessages) {
        setCronError(cronMessages.join(" "));
        setMessages(Object.entries(others).flatMap(([field, sentences]) => sentences.map((s) => `${field}: ${s}`)));
      } else {
        setMessages(errorSentences(error));
      }
    } finally {
      setSaving(false);
    }
  };

  return (
    <form className="schedule-form" onSubmit={(e) => void submit(e)} noValidate data-testid="schedule-form">
      <h3>New schedule</h3>
      <div className="row">
        <label className="stacked-field">
          Cron (UTC)
          <input
            data-testid="schedule-cron"
            value={cron}
            aria-invalid={cronError ? true : undefined}
            onChange={(e) => {
              setCron(e.target.value);
              setCronError(null);
            }}
          />
        </label>
        <label className="stacked-field">
          Common
          <select
            data-testid="schedule-preset"
            value={CRON_PRESETS.some((p) => p.cron === cron) ? cron : ""}
            onChange={(e) => e.target.value && setCron(e.target.value)}
          >
            <option value="">choose…</option>
            {CRON_PRESETS.map((preset) => (
              <option key={preset.cron} value={preset.cron}>
                {preset.label}
              </option>
            ))}
          </select>
        </label>
        <EngineField value={engine} onChange={setEngine} testId="schedule-engine" stacked />
        <ParameterFields parameters={parameters} draft={draft} onChange={setDraft} testIdPrefix="schedule-param" />
        <label className="checkbox-field">
          <input type="checkbox" data-testid="schedule-enable" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Enabled
        </label>
        <button type="submit" className="primary" data-testid="schedule-create" disabled={saving}>
          {saving ? "Creating…" : "Create schedule"}
        </button>
      </div>
      {cronError && (
        <p className="field-error" role="alert" data-testid="schedule-cron-error">
          {cronError}
        </p>
      )}
      <ErrorMessages messages={messages} />
      <p className="muted small">
        Five fields, minute hour day month weekday, in UTC (e.g. <code>*/15 * * * *</code>, <code>0 6 * * 1-5</code>), or @hourly,
        @daily, @weekly, @monthly. A schedule runs the pipeline's latest version.
      </p>
    </form>
  );
}
