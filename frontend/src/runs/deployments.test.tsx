import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { Version } from "../api/types";
import { DeploymentCard, ProblemBox } from "./DeploymentsPanel";
import { deploymentActions, deploymentProblem, needsRefresh, resumeText, runsOf, upgradeTargets } from "./deployments";
import { deploymentOf, runOf } from "./fixtures";
import { markupInRouter as html } from "../ui/markup";

const refused = {
  detail: "Version 4 cannot start from the state version 3 left: Source 'clicks' changed. Upgrade with reset_state to start it with fresh state.",
  problems: ["Source 'clicks' changed: its checkpointed offsets belong to the old source.", "Node 'count' (aggregate) changed."],
};

const version = (number: number, changes: Partial<Version> = {}): Version => ({
  number,
  author: "ada",
  message: "",
  created_at: "2026-01-01T00:00:00Z",
  valid: true,
  ...changes,
});

describe("deployment refusals", () => {
  it("offers the reset-state upgrade only for an upgrade whose state cannot serve the version", () => {
    const conflict = new ApiError(409, refused, refused.detail);
    expect(deploymentProblem(conflict, true)).toEqual({
      kind: "conflict",
      detail: refused.detail,
      problems: refused.problems,
      activeRun: null,
      offerReset: true,
    });
    // Already with reset_state: the problems are about fresh state (e.g. a sink's old batch log); resetting again cannot help.
    expect(deploymentProblem(conflict, false)).toMatchObject({ kind: "conflict", offerReset: false });
    // Stop, start or deploy refused in the present state: a sentence and the active run, nothing to reset.
    const running = new ApiError(409, { detail: "Deployment 3 is already running: run 9 is running.", active_run: 9 }, "x");
    expect(deploymentProblem(running)).toEqual({
      kind: "conflict",
      detail: "Deployment 3 is already running: run 9 is running.",
      problems: [],
      activeRun: 9,
      offerReset: false,
    });
  });

  it("shows an invalid version's diagnostics and any other error in words", () => {
    const invalid = new ApiError(
      400,
      { valid: false, errors: [{ severity: "error", node: "out", path: "$.nodes[2]", message: "Flink cannot write Iceberg." }], warnings: [] },
      "x",
    );
    expect(deploymentProblem(invalid)).toEqual({
      kind: "invalid",
      errors: [{ severity: "error", node: "out", path: "$.nodes[2]", message: "Flink cannot write Iceberg." }],
    });
    const batch = new ApiError(400, { version: ["Version 1 is a batch pipeline: start a run of it instead."] }, "x");
    expect(deploymentProblem(batch)).toEqual({ kind: "failed", messages: ["version: Version 1 is a batch pipeline: start a run of it instead."] });
  });

  it("renders the problems in words with the reset-state button", () => {
    const markup = html(<ProblemBox problem={deploymentProblem(new ApiError(409, refused, "x"), true)} generation={1} onReset={() => undefined} />);
    expect(markup).toContain("Source &#x27;clicks&#x27; changed: its checkpointed offsets belong to the old source.");
    expect(markup).toContain("Node &#x27;count&#x27; (aggregate) changed.");
    expect(markup).toContain('data-testid="deployment-reset-upgrade"');
    expect(markup).toContain("state generation 2");
    const withoutReset = html(<ProblemBox problem={deploymentProblem(new ApiError(409, refused, "x"), false)} onReset={() => undefined} />);
    expect(withoutReset).not.toContain("deployment-reset-upgrade");
  });
});

describe("deployment state", () => {
  it("allows what the API accepts in each state", () => {
    expect(deploymentActions(deploymentOf("running", { run: runOf("running") }))).toEqual({ stop: true, start: false, remove: false });
    expect(deploymentActions(deploymentOf("starting", { run: runOf("queued") }))).toEqual({ stop: true, start: false, remove: false });
    expect(deploymentActions(deploymentOf("stopping", { run: runOf("cancelling") }))).toEqual({ stop: false, start: false, remove: false });
    expect(deploymentActions(deploymentOf("stopped", { run: runOf("cancelled") }))).toEqual({ stop: false, start: true, remove: true });
    expect(deploymentActions(deploymentOf("failed", { run: runOf("failed") }))).toEqual({ stop: false, start: true, remove: true });
    // Between an upgrade's stop and its next run: the studio starts it by itself.
    expect(deploymentActions(deploymentOf("starting", { run: runOf("cancelled"), restart_pending: true }))).toEqual({
      stop: false,
      start: false,
      remove: false,
    });
  });

  it("is read again while anything is on its way", () => {
    expect(needsRefresh([deploymentOf("stopped"), deploymentOf("failed")])).toBe(false);
    for (const status of ["starting", "running", "stopping"] as const) {
      expect(needsRefresh([deploymentOf("stopped"), deploymentOf(status)])).toBe(true);
    }
  });

  it("lists its runs from the history, its newest run first and freshest", () => {
    const newest = runOf("running", { id: 30, deployment: 3 });
    const history = [runOf("queued", { id: 30, deployment: 3 }), runOf("succeeded", { id: 29 }), runOf("cancelled", { id: 20, deployment: 3 })];
    expect(runsOf(deploymentOf("running", { run: newest }), history).map((r) => [r.id, r.status])).toEqual([
      [30, "running"],
      [20, "cancelled"],
    ]);
    // A newest run the history has not seen yet still shows.
    expect(runsOf(deploymentOf("starting", { run: runOf("queued", { id: 31, deployment: 3 }) }), history).map((r) => r.id)).toEqual([31, 30, 20]);
  });

  it("says where it resumes from and which versions it can move to", () => {
    expect(resumeText(deploymentOf("stopped"))).toBe("the newest checkpoint in /var/deployments/3/state-1 (state generation 1)");
    expect(resumeText(deploymentOf("stopped", { last_savepoint: "file:///sp/savepoint-1" }))).toBe("the savepoint file:///sp/savepoint-1");
    expect(upgradeTargets([version(1), version(2), version(3)], deploymentOf("running")).map((v) => v.number)).toEqual([3, 1]);
  });

  it("shows status, savepoint, runs and only the buttons its state allows", () => {
    const deployment = deploymentOf("stopped", {
      run: runOf("cancelled", { id: 20, deployment: 3 }),
      last_savepoint: "file:///sp/savepoint-7",
    });
    const markup = html(
      <DeploymentCard
        deployment={deployment}
        runs={runsOf(deployment, [])}
        versions={[version(2), version(3, { message: "new filter" })]}
        canRun
        onChange={() => undefined}
        onRemoved={() => undefined}
      />,
    );
    expect(markup).toContain('data-status="stopped"');
    expect(markup).toContain("file:///sp/savepoint-7");
    expect(markup).toContain('href="/runs/20"');
    expect(markup).toMatch(/<button[^>]*data-testid="deployment-stop"[^>]*disabled=""/);
    expect(markup).not.toMatch(/<button[^>]*data-testid="deployment-start"[^>]*disabled=""/);
    expect(markup).toContain('<option value="3" selected="">v3 — new filter</option>');

    const viewer = html(
      <DeploymentCard deployment={deployment} runs={[]} versions={[]} canRun={false} onChange={() => undefined} onRemoved={() => undefined} />,
    );
    expect(viewer).toMatch(/<button[^>]*data-testid="deployment-start"[^>]*disabled=""/);
    expect(viewer).not.toContain("deployment-upgrade");
  });
});
