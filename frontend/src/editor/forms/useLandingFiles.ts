import { useEffect, useState } from "react";
import { api } from "../../api/endpoints";
import { errorSentence, isAbort } from "../../api/errors";

/** Suggestions for a path field: every file, plus a `folder/*.ext` glob per folder and extension. */
export function pathSuggestions(paths: string[]): string[] {
  const globs = new Set<string>();
  for (const path of paths) {
    const slash = path.lastIndexOf("/");
    const dot = path.lastIndexOf(".");
    if (slash > 0 && dot > slash) globs.add(`${path.slice(0, slash)}/*${path.slice(dot)}`);
  }
  return [...[...globs].sort(), ...paths];
}

export function useLandingFiles(): { suggestions: string[]; error: string | null } {
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api.files.list(undefined, controller.signal).then(
      (result) => setSuggestions(pathSuggestions(result.files.map((f) => f.path))),
      (e: unknown) => {
        if (!isAbort(e)) setError(`File suggestions are unavailable: ${errorSentence(e)}`);
      },
    );
    return () => controller.abort();
  }, []);
  return { suggestions, error };
}
