import { useEffect, useRef, useState } from "react";
import { configToText, parseConfigText } from "../model/config";
import type { ConfigFormProps } from "./types";

/**
 * The config as JSON, applied on blur. A parse error is shown next to the text the user typed
 * (kept so it can be fixed) while the node keeps its last good config.
 */
export function JsonConfigForm({ config, onChange, hint }: ConfigFormProps & { hint?: string | undefined }) {
  const [text, setText] = useState(() => configToText(config));
  const [error, setError] = useState<string | null>(null);
  const focused = useRef(false);

  useEffect(() => {
    if (!focused.current) setText(configToText(config));
  }, [config]);

  const apply = () => {
    focused.current = false;
    const parsed = parseConfigText(text);
    if (!parsed.ok) {
      setError(parsed.error);
      return;
    }
    setError(null);
    if (JSON.stringify(parsed.config) === JSON.stringify(config)) setText(configToText(config));
    else onChange(parsed.config);
  };

  return (
    <div className="config-form">
      {hint && <p className="muted small">Keys: {hint}</p>}
      <textarea
        data-testid="config-json"
        aria-label="Config (JSON)"
        aria-invalid={error ? true : undefined}
        className="mono"
        rows={12}
        spellCheck={false}
        value={text}
        onFocus={() => {
          focused.current = true;
        }}
        onChange={(e) => setText(e.target.value)}
        onBlur={apply}
      />
      {error && (
        <p className="field-error" role="alert" data-testid="config-json-error">
          {error}
        </p>
      )}
    </div>
  );
}
