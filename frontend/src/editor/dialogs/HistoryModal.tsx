import { ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { useEffect, useMemo, useState } from "react";
import { api } from "../../api/endpoints";
import { errorSentence, isAbort } from "../../api/errors";
import type { Version, VersionDetail } from "../../api/types";
import { formatDateTime } from "../../ui/format";
import { Modal } from "../../ui/Modal";
import { previewNodeTypes } from "../canvas/PipelineNode";
import { parseDocument } from "../model/document";
import type { PipelineDocument } from "../model/document";
import { documentToFlow } from "../model/flow";

function Preview({ document }: { document: PipelineDocument }) {
  const graph = useMemo(() => documentToFlow(document), [document]);
  return (
    <div className="preview-canvas">
      <ReactFlowProvider>
        <ReactFlow
          nodes={graph.nodes}
          edges={graph.edges}
          nodeTypes={previewNodeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          deleteKeyCode={null}
          fitView
        />
      </ReactFlowProvider>
    </div>
  );
}

/** Saved versions, newest first: open one read-only, or restore its document as unsaved work. */
export function HistoryModal({
  pipelineId,
  pipelineName,
  baseVersion,
  onRestore,
  onClose,
}: {
  pipelineId: number;
  pipelineName: string;
  baseVersion: number | null;
  onRestore: (document: PipelineDocument, version: number) => void;
  onClose: () => void;
}) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<VersionDetail | null>(null);
  const [opening, setOpening] = useState<number | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api.versions.list(pipelineId, controller.signal).then(setVersions, (e: unknown) => {
      if (!isAbort(e)) setError(errorSentence(e));
    });
    return () => controller.abort();
  }, [pipelineId]);

  const fetchVersion = async (number: number): Promise<VersionDetail | null> => {
    setOpening(number);
    setError(null);
    try {
      return await api.versions.get(pipelineId, number);
    } catch (e) {
      setError(errorSentence(e));
      return null;
    } finally {
      setOpening(null);
    }
  };

  const restore = async (number: number) => {
    const detail = open?.number === number ? open : await fetchVersion(number);
    if (detail) onRestore(parseDocument(detail.document, pipelineName), number);
  };

  const openDocument = useMemo(() => (open ? parseDocument(open.document, pipelineName) : null), [open, pipelineName]);

  return (
    <Modal title={open ? `Version ${open.number} (read-only)` : "Version history"} onClose={onClose} wide testId="history-modal">
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {open && openDocument ? (
        <div className="version-view">
          <p className="muted">
            Saved by {open.author} on {formatDateTime(open.created_at)}
            {open.message && ` — ${open.message}`}. {open.valid ? "Valid." : "Has validation errors."}
          </p>
          <Preview document={openDocument} />
          <div className="row">
            <button type="button" onClick={() => setOpen(null)}>
              Back to the list
            </button>
            <button type="button" className="primary" data-testid="version-restore" onClick={() => void restore(open.number)}>
              Restore this version
            </button>
          </div>
        </div>
      ) : (
        <>
          {!versions && !error && <p className="muted">Loading versions…</p>}
          {versions && versions.length === 0 && <p className="muted">No version has been saved yet.</p>}
          {versions && versions.length > 0 && (
            <table className="table">
              <thead>
                <tr>
                  <th>Version</th>
                  <th>Author</th>
                  <th>Message</th>
                  <th>Saved</th>
                  <th>Valid</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {versions.map((version) => (
                  <tr key={version.number} data-testid="version-row">
                    <td>
                      v{version.number}
                      {version.number === baseVersion && <span className="muted small"> (editing)</span>}
                    </td>
                    <td>{version.author}</td>
                    <td>{version.message}</td>
                    <td>{formatDateTime(version.created_at)}</td>
                    <td>{version.valid ? "yes" : "no"}</td>
                    <td className="actions">
                      <button
                        type="button"
                        data-testid="version-open"
                        disabled={opening !== null}
                        onClick={() => void fetchVersion(version.number).then((detail) => detail && setOpen(detail))}
                      >
                        Open
                      </button>
                      <button
                        type="button"
                        data-testid="version-restore"
                        disabled={opening !== null}
                        onClick={() => void restore(version.number)}
                      >
                        Restore
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </Modal>
  );
}
