import type { Diagnostic } from "../api/types";

export function ErrorMessages({ messages, testId }: { messages: string[]; testId?: string }) {
  if (messages.length === 0) return null;
  return (
    <div className="error-box" role="alert" data-testid={testId}>
      {messages.length === 1 ? (
        <p>{messages[0]}</p>
      ) : (
        <ul>
          {messages.map((message, index) => (
            <li key={index}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function DiagnosticList({
  diagnostics,
  onSelect,
  testId,
}: {
  diagnostics: Diagnostic[];
  onSelect?: (diagnostic: Diagnostic) => void;
  testId?: string;
}) {
  return (
    <ul className="diagnostics" data-testid={testId}>
      {diagnostics.map((d, index) => (
        <li key={`${d.path}-${index}`} className={`diagnostic diagnostic-${d.severity}`}>
          {onSelect && d.node ? (
            <button type="button" className="link-button" onClick={() => onSelect(d)}>
              <DiagnosticText diagnostic={d} />
            </button>
          ) : (
            <DiagnosticText diagnostic={d} />
          )}
        </li>
      ))}
    </ul>
  );
}

function DiagnosticText({ diagnostic }: { diagnostic: Diagnostic }) {
  return (
    <>
      <span className={`severity severity-${diagnostic.severity}`}>{diagnostic.severity}</span>
      {diagnostic.node && <span className="diagnostic-node">{diagnostic.node}</span>}
      <span className="diagnostic-message">{diagnostic.message}</span>
      <code className="diagnostic-path">{diagnostic.path}</code>
    </>
  );
}
