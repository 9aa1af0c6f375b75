import type { RunPolicy } from "../api/types";

/** The API's limits (studio/pipelines/models.py). */
export const POLICY_LIMITS = {
  max_attempts: [1, 10],
  retry_backoff_seconds: [0, 86400],
  timeout_seconds: [1, 604800],
} as const;

/** The run-settings form as typed: numbers as text; an empty timeout means no limit. */
export interface PolicyDraft {
  max_attempts: string;
  retry_backoff_seconds: string;
  timeout_seconds: string;
  allow_concurrent_runs: boolean;
}

export type PolicyErrors = Partial<Record<keyof RunPolicy, string>>;

export function policyDraft(policy: RunPolicy): PolicyDraft {
  return {
    max_attempts: String(policy.max_attempts),
    retry_backoff_seconds: String(policy.retry_backoff_seconds),
    timeout_seconds: policy.timeout_seconds === null ? "" : String(policy.timeout_seconds),
    allow_concurrent_runs: policy.allow_concurrent_runs,
  };
}

function wholeNumber(text: string, [low, high]: readonly [number, number], what: string): number | string {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return `${what} must be a whole number from ${low} to ${high}.`;
  const value = Number(trimmed);
  return value < low || value > high ? `${what} must be from ${low} to ${high}.` : value;
}

/** The draft as the PATCH body, or a sentence per field that is out of range. */
export function parsePolicy(draft: PolicyDraft): { policy: RunPolicy; errors: null } | { policy: null; errors: PolicyErrors } {
  const errors: PolicyErrors = {};
  const attempts = wholeNumber(draft.max_attempts, POLICY_LIMITS.max_attempts, "Attempts");
  const backoff = wholeNumber(draft.retry_backoff_seconds, POLICY_LIMITS.retry_backoff_seconds, "The backoff");
  const timeout = draft.timeout_seconds.trim() === "" ? null : wholeNumber(draft.timeout_seconds, POLICY_LIMITS.timeout_seconds, "The timeout");
  if (typeof attempts === "string") errors.max_attempts = attempts;
  if (typeof backoff === "string") errors.retry_backoff_seconds = backoff;
  if (typeof timeout === "string") errors.timeout_seconds = timeout;
  if (typeof attempts === "string" || typeof backoff === "string" || typeof timeout === "string") return { policy: null, errors };
  return {
    policy: { max_attempts: attempts, retry_backoff_seconds: backoff, timeout_seconds: timeout, allow_concurrent_runs: draft.allow_concurrent_runs },
    errors: null,
  };
}

/** The waits before each retry the policy allows, e.g. [30, 60] for 3 attempts at 30 s. */
export function retryDelays(policy: Pick<RunPolicy, "max_attempts" | "retry_backoff_seconds">): number[] {
  return Array.from({ length: policy.max_attempts - 1 }, (_, i) => Math.min(policy.retry_backoff_seconds * 2 ** i, 86400));
}
