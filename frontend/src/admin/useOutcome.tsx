import { useState } from "react";
import { errorSentences } from "../api/errors";
import { ErrorMessages } from "../ui/Messages";

export interface Outcome {
  messages: string[];
  notice: string | null;
  /** It worked: say so, and forget earlier errors. */
  done: (sentence: string) => void;
  /** It failed: the error's sentences (or those `sentences` makes of it), and no notice. */
  failed: (error: unknown, sentences?: (error: unknown) => string[]) => void;
}

/** What the last change on an admin panel came to: a notice, or the error's sentences. */
export function useOutcome(): Outcome {
  const [messages, setMessages] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  return {
    messages,
    notice,
    done: (sentence) => {
      setMessages([]);
      setNotice(sentence);
    },
    failed: (error, sentences = errorSentences) => {
      setNotice(null);
      setMessages(sentences(error));
    },
  };
}

export function OutcomeMessages({ outcome, errorsTestId }: { outcome: Outcome; errorsTestId: string }) {
  return (
    <>
      <ErrorMessages messages={outcome.messages} testId={errorsTestId} />
      {outcome.notice && (
        <p className="notice" role="status">
          {outcome.notice}
        </p>
      )}
    </>
  );
}
