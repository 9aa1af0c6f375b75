import { useEffect, useState } from "react";
import { api } from "../api/endpoints";
import { errorSentence } from "../api/errors";
import type { Engine, JsonObject, JsonValue } from "../api/types";
import { createDebouncedValidator } from "./model/debouncedValidator";
import { indexDiagnostics } from "./model/diagnostics";
import { documentToJson } from "./model/document";
import { selectDocument, useEditorStore } from "./store";
import type { EditorState } from "./store";

export const VALIDATION_DELAY_MS = 400;

export type ValidationStatus = { kind: "idle" } | { kind: "checking" } | { kind: "failed"; message: string };

function nodeIdsOf(document: JsonObject): string[] {
  const nodes: JsonValue | undefined = document["nodes"];
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => (node && typeof node === "object" && !Array.isArray(node) && typeof node["id"] === "string" ? node["id"] : ""));
}

/** The document without editor-only positions: moving a node does not need a new validation. */
function validationKey(document: JsonObject): string {
  return JSON.stringify(document, (key, value: unknown) => (key === "position" ? undefined : value));
}

/** Validates the document ~400 ms after each change and stores the diagnostics by node. */
export function useLiveValidation(engine: Engine): ValidationStatus {
  const setDiagnostics = useEditorStore((s) => s.setDiagnostics);
  const [status, setStatus] = useState<ValidationStatus>({ kind: "idle" });

  useEffect(() => {
    let lastKey: string | null = null;
    const validator = createDebouncedValidator({
      delayMs: VALIDATION_DELAY_MS,
      validate: (document, signal) => {
        setStatus({ kind: "checking" });
        return api.validate({ document, engine }, signal);
      },
      onResult: (result, document) => {
        setDiagnostics(indexDiagnostics(result, nodeIdsOf(document)));
        setStatus({ kind: "idle" });
      },
      onError: (error) => {
        lastKey = null;
        setStatus({ kind: "failed", message: errorSentence(error) });
      },
    });
    const check = (state: EditorState) => {
      const document = documentToJson(selectDocument(state));
      const key = validationKey(document);
      if (key === lastKey) return;
      lastKey = key;
      validator.schedule(document);
    };
    check(useEditorStore.getState());
    const unsubscribe = useEditorStore.subscribe((state, previous) => {
      if (state.revision !== previous.revision) check(state);
    });
    return () => {
      unsubscribe();
      validator.dispose();
    };
  }, [engine, setDiagnostics]);

  return status;
}
