import { describe, expect, it } from "vitest";
import { parsePolicy, policyDraft, retryDelays } from "./policy";
import { cronProblem } from "./schedules";

describe("run settings form", () => {
  const policy = { max_attempts: 3, retry_backoff_seconds: 30, timeout_seconds: null, allow_concurrent_runs: false };

  it("round-trips the policy, with an empty timeout meaning no limit", () => {
    const draft = policyDraft(policy);
    expect(draft).toEqual({ max_attempts: "3", retry_backoff_seconds: "30", timeout_seconds: "", allow_concurrent_runs: false });
    expect(parsePolicy(draft)).toEqual({ policy, errors: null });
    expect(parsePolicy({ ...draft, timeout_seconds: " 600 " }).policy?.timeout_seconds).toBe(600);
  });

  it("names every field out of the API's range", () => {
    const result = parsePolicy({ max_attempts: "11", retry_backoff_seconds: "-1", timeout_seconds: "0", allow_concurrent_runs: true });
    expect(result.errors).toEqual({
      max_attempts: "Attempts must be from 1 to 10.",
      retry_backoff_seconds: "The backoff must be a whole number from 0 to 86400.",
      timeout_seconds: "The timeout must be from 1 to 604800.",
    });
    expect(parsePolicy({ ...policyDraft(policy), max_attempts: "2.5" }).errors?.max_attempts).toMatch(/whole number/);
  });

  it("shows the doubling backoff before each retry", () => {
    expect(retryDelays({ max_attempts: 4, retry_backoff_seconds: 30 })).toEqual([30, 60, 120]);
    expect(retryDelays({ max_attempts: 1, retry_backoff_seconds: 30 })).toEqual([]);
  });
});

describe("cron field", () => {
  it("accepts five fields or a shortcut, and says what is wrong otherwise", () => {
    expect(cronProblem("0 6 * * 1-5")).toBeNull();
    expect(cronProblem(" @daily ")).toBeNull();
    expect(cronProblem("")).toMatch(/Enter a cron expression/);
    expect(cronProblem("0 6 * *")).toBe("A cron expression has 5 fields (minute hour day month weekday); this one has 4.");
    expect(cronProblem("@often")).toMatch(/Unknown shortcut @often/);
  });
});
