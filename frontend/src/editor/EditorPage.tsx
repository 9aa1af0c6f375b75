import { ReactFlowProvider } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useBlocker } from "react-router";
import { ApiError } from "../api/client";
import { api } from "../api/endpoints";
import { errorSentences, validationResultOf } from "../api/errors";
import type { Diagnostic, Engine, JsonObject, ParameterValues, PipelineDetail, Run } from "../api/types";
import { can, roleIn } from "../admin/access";
import { ReadOnlyMarker } from "../admin/ReadOnlyMarker";
import { useMe } from "../auth/session";
import { PipelineFromAddress } from "../pipelines/PipelineFromAddress";
import { EngineField } from "../runs/EngineField";
import { RunPanel } from "../runs/RunPanel";
import { RunParametersModal } from "../runs/RunParametersModal";
import { setLeaveGuard } from "../ui/leaveGuard";
import { DiagnosticList, ErrorMessages } from "../ui/Messages";
import { Canvas } from "./canvas/Canvas";
import { Palette } from "./canvas/Palette";
import { CompileModal } from "./dialogs/CompileModal";
import type { CompileOutcome } from "./dialogs/CompileModal";
import { HistoryModal } from "./dialogs/HistoryModal";
import { documentToJson, parseDocument } from "./model/document";
import type { PipelineDocument } from "./model/document";
import { ProblemsList } from "./panel/ProblemsList";
import { SidePanel } from "./panel/SidePanel";
import { selectDocument, selectIsDirty, useEditorStore } from "./store";

const LEAVE_QUESTION = "You have unsaved changes. Leave this pipeline and lose them?";

type SaveState =
  | { kind: "idle" }
  | { kind: "saving" }
  | { kind: "saved"; version: number; valid: boolean }
  | { kind: "failed"; messages: string[] };

interface Conflict {
  message: string;
  currentVersion: number | null;
}

type RunProblem = { kind: "invalid"; errors: Diagnostic[] } | { kind: "failed"; messages: string[] };

function documentFor(pipeline: PipelineDetail): PipelineDocument {
  return { ...parseDocument(pipeline.document, pipeline.name), name: pipeline.name };
}

function currentVersionOf(error: ApiError): number | null {
  const body = error.body;
  if (body && typeof body === "object" && !Array.isArray(body) && typeof body["current_version"] === "number") {
    return body["current_version"];
  }
  return null;
}

function saveStatusText(state: SaveState, dirty: boolean, baseVersion: number | null): string {
  if (state.kind === "saving") return "Saving…";
  if (dirty) return "Unsaved changes";
  if (state.kind === "saved" && state.version === baseVersion) return `Saved version ${state.version}`;
  return baseVersion === null ? "No version saved yet" : `Version ${baseVersion}`;
}

/** Loads the pipeline named in the address, then shows the editor for it. */
export function EditorPage() {
  const load = useEditorStore((s) => s.load);
  const onLoad = useCallback(
    (detail: PipelineDetail) => load(detail.id, documentFor(detail), detail.latest_version),
    [load],
  );
  return (
    <PipelineFromAddress onLoad={onLoad}>{(pipeline) => <Editor key={pipeline.id} pipeline={pipeline} />}</PipelineFromAddress>
  );
}

function Editor({ pipeline }: { pipeline: PipelineDetail }) {
  const pipelineId = pipeline.id;
  const me = useMe();
  // Viewers see the editor read-only; running needs an operator (the API enforces both).
  const canEdit = can(me, pipeline.workspace, "change");
  const canRun = can(me, pipeline.workspace, "run");
  const dirty = useEditorStore(selectIsDirty);
  const baseVersion = useEditorStore((s) => s.baseVersion);
  const mode = useEditorStore((s) => s.meta.mode);
  const parameters = useEditorStore((s) => s.meta.parameters);
  const setMode = useEditorStore((s) => s.setMode);
  const load = useEditorStore((s) => s.load);
  const restore = useEditorStore((s) => s.restore);
  const markSaved = useEditorStore((s) => s.markSaved);

  const [engine, setEngine] = useState<Engine>("spark");
  const [saveState, setSaveState] = useState<SaveState>({ kind: "idle" });
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [compile, setCompile] = useState<CompileOutcome | null>(null);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [parametersOpen, setParametersOpen] = useState(false);
  const [openRun, setOpenRun] = useState<{ id: number; initial: Run | null } | null>(null);
  const [runProblem, setRunProblem] = useState<RunProblem | null>(null);
  const [starting, setStarting] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [canvasKey, setCanvasKey] = useState(0);
  const saving = useRef(false);

  const currentDocument = (): JsonObject => documentToJson(selectDocument(useEditorStore.getState()));

  /** Saves on top of `base` (the loaded/last saved version unless the user chose otherwise). */
  const save = useCallback(
    async (base?: number | null): Promise<boolean> => {
      if (saving.current) return false;
      saving.current = true;
      const state = useEditorStore.getState();
      const revision = state.revision;
      const baseVersionToSend = base === undefined ? state.baseVersion : base;
      setSaveState({ kind: "saving" });
      setNotice(null);
      try {
        const saved = await api.versions.save(pipelineId, {
          document: documentToJson(selectDocument(state)),
          base_version: baseVersionToSend,
        });
        markSaved(saved.number, revision);
        setConflict(null);
        setSaveState({ kind: "saved", version: saved.number, valid: saved.valid });
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          setConflict({ message: error.message, currentVersion: currentVersionOf(error) });
          setSaveState({ kind: "failed", messages: [] });
        } else {
          setSaveState({ kind: "failed", messages: errorSentences(error) });
        }
        return false;
      } finally {
        saving.current = false;
      }
    },
    [pipelineId, markSaved],
  );

  const saveRef = useRef(save);
  useEffect(() => {
    saveRef.current = save;
  }, [save]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        if (canEdit) void saveRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [canEdit]);

  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [dirty]);

  useEffect(() => {
    setLeaveGuard(() => !selectIsDirty(useEditorStore.getState()) || window.confirm(LEAVE_QUESTION));
    return () => setLeaveGuard(null);
  }, []);

  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (blocker.state !== "blocked") return;
    if (window.confirm(LEAVE_QUESTION)) blocker.proceed();
    else blocker.reset();
  }, [blocker]);

  const loadLatest = async () => {
    if (selectIsDirty(useEditorStore.getState()) && !window.confirm("Discard your unsaved changes and load the latest saved version?")) {
      return;
    }
    try {
      const latest = await api.pipelines.get(pipelineId);
      load(latest.id, documentFor(latest), latest.latest_version);
      setConflict(null);
      setSaveState({ kind: "idle" });
      setCanvasKey((k) => k + 1);
      setNotice(latest.latest_version === null ? "Loaded the pipeline." : `Loaded version ${latest.latest_version}.`);
    } catch (error) {
      setSaveState({ kind: "failed", messages: errorSentences(error) });
    }
  };

  const saveOverLatest = async (currentVersion: number) => {
    if (!window.confirm(`Save your document as a new version on top of version ${currentVersion}? The other changes stay in the history.`)) {
      return;
    }
    await save(currentVersion);
  };

  const runCompile = async () => {
    setCompile({ kind: "compiling" });
    try {
      setCompile({ kind: "compiled", result: await api.compile({ document: currentDocument(), engine }) });
    } catch (error) {
      const invalid = validationResultOf(error);
      setCompile(invalid ? { kind: "invalid", errors: invalid.errors } : { kind: "failed", messages: errorSentences(error) });
    }
  };

  const startRun = async (values?: ParameterValues) => {
    setParametersOpen(false);
    setRunProblem(null);
    setStarting(true);
    try {
      const state = useEditorStore.getState();
      if (selectIsDirty(state) || state.baseVersion === null) {
        if (!(await save())) return;
      }
      const version = useEditorStore.getState().baseVersion;
      const run = await api.runs.start(pipelineId, {
        ...(version === null ? {} : { version }),
        engine,
        ...(values ? { parameters: values } : {}),
      });
      setOpenRun({ id: run.id, initial: run });
    } catch (error) {
      const invalid = validationResultOf(error);
      setRunProblem(invalid ? { kind: "invalid", errors: invalid.errors } : { kind: "failed", messages: errorSentences(error) });
    } finally {
      setStarting(false);
    }
  };

  const onRunClick = () => {
    if (parameters.length > 0) setParametersOpen(true);
    else void startRun();
  };

  const onRestore = (document: PipelineDocument, version: number) => {
    if (selectIsDirty(useEditorStore.getState()) && !window.confirm(`Replace your unsaved changes with version ${version}?`)) return;
    restore(document);
    setHistoryOpen(false);
    setCanvasKey((k) => k + 1);
    setNotice(`Restored version ${version} as unsaved changes; save to make it the latest version.`);
  };

  const statusText = saveStatusText(saveState, dirty, baseVersion);

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Pipeline actions">
        <Link to="/" className="back-link">
          ← Pipelines
        </Link>
        <h1 className="toolbar-title">{pipeline.name}</h1>
        <label className="inline-field">
          Mode
          <select data-testid="mode-select" value={mode} disabled={!canEdit} onChange={(e) => setMode(e.target.value === "streaming" ? "streaming" : "batch")}>
            <option value="batch">batch</option>
            <option value="streaming">streaming</option>
          </select>
        </label>
        <EngineField value={engine} onChange={setEngine} testId="engine-select" />
        <span className="spacer" />
        <span className={dirty ? "save-status dirty" : "save-status"} data-testid="save-status" role="status">
          {statusText}
        </span>
        {canEdit ? (
          <button
            type="button"
            className="primary"
            data-testid="save"
            disabled={saveState.kind === "saving"}
            title="Save (Ctrl/Cmd+S)"
            onClick={() => void save()}
          >
            Save
          </button>
        ) : (
          <ReadOnlyMarker role={roleIn(me, pipeline.workspace)} />
        )}
        <button type="button" data-testid="compile" onClick={() => void runCompile()}>
          Compile
        </button>
        <button
          type="button"
          data-testid="run"
          disabled={starting || !canRun}
          title={canRun ? undefined : "Running needs the operator role in this workspace."}
          onClick={onRunClick}
        >
          {starting ? "Starting…" : "Run"}
        </button>
        <Link to={`/pipelines/${pipelineId}/runs`} className="button-link" data-testid="runs">
          Runs
        </Link>
        <button type="button" data-testid="history" onClick={() => setHistoryOpen(true)}>
          History
        </button>
      </div>

      {conflict && (
        <div className="banner banner-warning" role="alert">
          <p data-testid="conflict">
            {conflict.message}
            {conflict.currentVersion !== null && ` The current version is ${conflict.currentVersion}.`} Your changes are not
            saved and are still here.
          </p>
          <div className="row">
            <button type="button" data-testid="load-latest" onClick={() => void loadLatest()}>
              Load latest
            </button>
            {conflict.currentVersion !== null && (
              <button type="button" data-testid="save-over" onClick={() => void saveOverLatest(conflict.currentVersion ?? 0)}>
                Save mine as a new version
              </button>
            )}
            <button type="button" onClick={() => setConflict(null)}>
              Keep editing
            </button>
          </div>
        </div>
      )}
      {saveState.kind === "failed" && saveState.messages.length > 0 && (
        <div className="banner">
          <ErrorMessages messages={saveState.messages} testId="save-error" />
        </div>
      )}
      {saveState.kind === "saved" && !saveState.valid && !dirty && (
        <p className="banner banner-info">Saved with validation errors: fix the problems below before running it.</p>
      )}
      {notice && (
        <p className="banner banner-info" role="status">
          {notice}
        </p>
      )}
      {runProblem && (
        <div className="banner" data-testid="run-errors">
          {runProblem.kind === "invalid" ? (
            <div className="error-box" role="alert">
              <p>This version cannot run on {engine}:</p>
              <DiagnosticList diagnostics={runProblem.errors} />
            </div>
          ) : (
            <ErrorMessages messages={runProblem.messages} />
          )}
        </div>
      )}

      <ReactFlowProvider key={`canvas-${canvasKey}`}>
        <div className="editor-main">
          {canEdit && <Palette />}
          <div className="editor-center">
            <Canvas readOnly={!canEdit} />
            <ProblemsList engine={engine} />
          </div>
          <div className="editor-side">
            <fieldset className="side-fieldset" disabled={!canEdit}>
              <SidePanel />
            </fieldset>
          </div>
        </div>
      </ReactFlowProvider>

      {openRun && <RunPanel key={`run-${openRun.id}`} runId={openRun.id} initial={openRun.initial} onClose={() => setOpenRun(null)} />}

      {compile && <CompileModal outcome={compile} onClose={() => setCompile(null)} />}
      {historyOpen && (
        <HistoryModal
          pipelineId={pipelineId}
          pipelineName={pipeline.name}
          baseVersion={baseVersion}
          onRestore={onRestore}
          onClose={() => setHistoryOpen(false)}
        />
      )}
      {parametersOpen && (
        <RunParametersModal
          parameters={parameters}
          engine={engine}
          onRun={(values) => void startRun(values)}
          onClose={() => setParametersOpen(false)}
        />
      )}
    </div>
  );
}
