import { useEffect, useState } from "react";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../api/client";
import { api } from "../api/endpoints";
import { errorSentence, isAbort } from "../api/errors";
import type { PipelineDetail } from "../api/types";

/**
 * Loads the pipeline named by the address (`/pipelines/:id/...`) and renders `children` with it; until
 * then a loading line, and a sentence with a way back when there is no such pipeline for this user.
 * `onLoad` (keep it stable, e.g. with useCallback) sees each loaded pipeline before it is shown.
 */
export function PipelineFromAddress({
  onLoad,
  children,
}: {
  onLoad?: (pipeline: PipelineDetail) => void;
  children: (pipeline: PipelineDetail, setPipeline: (pipeline: PipelineDetail) => void) => ReactNode;
}) {
  const pipelineId = Number(useParams()["id"]);
  const [pipeline, setPipeline] = useState<PipelineDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!Number.isInteger(pipelineId) || pipelineId <= 0) {
      setError("There is no pipeline at this address.");
      return;
    }
    const controller = new AbortController();
    setPipeline(null);
    setError(null);
    api.pipelines.get(pipelineId, controller.signal).then(
      (detail) => {
        onLoad?.(detail);
        setPipeline(detail);
      },
      (e: unknown) => {
        if (isAbort(e)) return;
        setError(
          e instanceof ApiError && e.status === 404
            ? "This pipeline does not exist, or you are not a member of its workspace."
            : errorSentence(e),
        );
      },
    );
    return () => controller.abort();
  }, [pipelineId, onLoad]);

  if (error) {
    return (
      <div className="page-message" role="alert">
        <p>{error}</p>
        <Link to="/">Back to pipelines</Link>
      </div>
    );
  }
  if (!pipeline) return <p className="page-message">Loading the pipeline…</p>;
  return <>{children(pipeline, setPipeline)}</>;
}
