import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError } from "./client";
import { createApi } from "./endpoints";
import { errorSentences, fieldErrorsOf, validationResultOf } from "./errors";

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function setup(responses: Response[], cookie: string | null = "tok123") {
  const fetchImpl = vi.fn<typeof fetch>(() => Promise.resolve(responses.shift() ?? json(500, { detail: "no more" })));
  let token = cookie;
  const client = new ApiClient({ fetchImpl, readCookie: () => token });
  return { api: createApi(client), client, fetchImpl, setToken: (t: string | null) => (token = t) };
}

function requestOf(fetchImpl: ReturnType<typeof setup>["fetchImpl"], call = 0) {
  const [url, init] = fetchImpl.mock.calls[call] ?? [];
  return { url, init, headers: (init?.headers ?? {}) as Record<string, string> };
}

describe("API client", () => {
  it("sends the CSRF cookie as X-CSRFToken with credentials on unsafe requests", async () => {
    const { api, fetchImpl } = setup([json(201, { number: 2 })]);
    await api.versions.save(5, { document: { format: "studio.pipeline/v1" }, base_version: 1 });
    const { url, init, headers } = requestOf(fetchImpl);
    expect(url).toBe("/api/pipelines/5/versions/");
    expect(init?.method).toBe("POST");
    expect(init?.credentials).toBe("include");
    expect(headers["X-CSRFToken"]).toBe("tok123");
    expect(JSON.parse(String(init?.body))).toEqual({ document: { format: "studio.pipeline/v1" }, base_version: 1 });
  });

  it("fetches /api/auth/csrf/ first when there is no csrftoken cookie", async () => {
    const { api, fetchImpl, setToken } = setup([new Response(null, { status: 204 }), json(200, { id: 1 })], null);
    fetchImpl.mockImplementationOnce(() => {
      setToken("fresh");
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    await api.auth.login("ada", "pw");
    expect(requestOf(fetchImpl, 0).url).toBe("/api/auth/csrf/");
    expect(requestOf(fetchImpl, 1).headers["X-CSRFToken"]).toBe("fresh");
  });

  it("builds query strings and leaves out empty values", async () => {
    const { api, fetchImpl } = setup([json(200, []), json(200, { lines: [], next: 0 }), json(200, []), json(200, {})]);
    await api.runs.history(9, 50);
    await api.runs.log(3, 40);
    await api.pipelines.list(undefined);
    await api.runs.alerts(3, 0, 5000);
    expect(requestOf(fetchImpl, 0).url).toBe("/api/pipelines/9/runs/?limit=50");
    expect(requestOf(fetchImpl, 1).url).toBe("/api/runs/3/log/?after=40");
    expect(requestOf(fetchImpl, 2).url).toBe("/api/pipelines/");
    expect(requestOf(fetchImpl, 3).url).toBe("/api/runs/3/alerts/?after=0&limit=5000");
    expect(requestOf(fetchImpl, 0).headers["X-CSRFToken"]).toBeUndefined();
  });

  it("raises typed errors carrying status and JSON body", async () => {
    const { api } = setup([json(409, { detail: "Version 3 was saved since you started editing.", current_version: 3 })]);
    const error = await api.versions.save(1, { document: {}, base_version: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, message: "Version 3 was saved since you started editing." });
    expect((error as ApiError).body).toEqual({ detail: "Version 3 was saved since you started editing.", current_version: 3 });
  });

  it("turns field errors and validation results into sentences", async () => {
    const { api } = setup([
      json(400, { name: ["A pipeline with this name already exists in this workspace."] }),
      json(400, {
        valid: false,
        errors: [{ severity: "error", node: "f", path: "$.nodes[0].config.condition", message: "Unknown column x." }],
        warnings: [],
      }),
    ]);
    const fieldError = await api.pipelines.create({ workspace: "w", name: "dup" }).catch((e: unknown) => e);
    expect(fieldErrorsOf(fieldError)).toEqual({ name: ["A pipeline with this name already exists in this workspace."] });
    expect(errorSentences(fieldError)).toEqual(["name: A pipeline with this name already exists in this workspace."]);

    const invalid = await api.compile({ document: {}, engine: "spark" }).catch((e: unknown) => e);
    expect(validationResultOf(invalid)?.errors).toHaveLength(1);
    expect(errorSentences(invalid)).toEqual(["f: Unknown column x."]);
    expect(fieldErrorsOf(invalid)).toEqual({});
  });

  it("explains network failures and non-JSON errors in a sentence", async () => {
    const { api, fetchImpl } = setup([new Response("<html>Bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } })]);
    const gateway = await api.workspaces.list().catch((e: unknown) => e);
    expect(errorSentences(gateway)[0]).toMatch(/HTTP 502/);
    fetchImpl.mockImplementationOnce(() => Promise.reject(new TypeError("Failed to fetch")));
    const offline = await api.workspaces.list().catch((e: unknown) => e);
    expect(offline).toMatchObject({ status: 0 });
    expect(errorSentences(offline)[0]).toMatch(/Cannot reach the server/);
  });

  it("reports a lost session and refreshes a stale CSRF token once", async () => {
    const onUnauthorized = vi.fn();
    const { api, client, fetchImpl } = setup([
      json(403, { detail: "Authentication credentials were not provided." }),
      json(403, { detail: "CSRF Failed: CSRF token incorrect." }),
      new Response(null, { status: 204 }),
      json(202, { id: 4, status: "cancelled" }),
    ]);
    client.onUnauthorized = onUnauthorized;
    await expect(api.auth.me()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    await expect(api.runs.cancel(4)).resolves.toEqual({ id: 4, status: "cancelled" });
    expect(fetchImpl.mock.calls.map((c) => c[0])).toEqual(["/api/auth/me/", "/api/runs/4/cancel/", "/api/auth/csrf/", "/api/runs/4/cancel/"]);
  });
});
