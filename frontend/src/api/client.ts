import type { JsonValue } from "./types";

/** Error raised for every non-2xx answer (and for network failures, with status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly body: JsonValue | null;

  constructor(status: number, body: JsonValue | null, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

export type QueryValue = string | number | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
}

export interface ClientOptions {
  fetchImpl?: typeof fetch;
  readCookie?: (name: string) => string | null;
  /** Called when the session is gone (see isAuthenticationFailure) so the app can ask to sign in. */
  onUnauthorized?: () => void;
}

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readDocumentCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function fallbackMessage(status: number): string {
  if (status === 0) return "Cannot reach the server. Check your connection and try again.";
  if (status >= 500) return `The server failed to answer (HTTP ${status}). Try again in a moment.`;
  return `The request failed (HTTP ${status}).`;
}

function detailOf(body: JsonValue | null): string | null {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const detail = body["detail"];
    if (typeof detail === "string") return detail;
  }
  return null;
}

/**
 * 401, or the 403 DRF answers with session authentication when nobody is signed in (it sends no
 * `WWW-Authenticate` header, so it cannot use 401).
 */
export function isAuthenticationFailure(error: ApiError): boolean {
  if (error.status === 401) return true;
  return error.status === 403 && /credentials were not provided|not authenticated/i.test(error.message);
}

/** Session-cookie JSON client for the studio API, with Django's CSRF header on unsafe requests. */
export class ApiClient {
  private readonly fetchImpl: typeof fetch;
  private readonly readCookie: (name: string) => string | null;
  private csrfPromise: Promise<void> | null = null;
  onUnauthorized: (() => void) | undefined;

  constructor(options: ClientOptions = {}) {
    this.fetchImpl = options.fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
    this.readCookie = options.readCookie ?? readDocumentCookie;
    this.onUnauthorized = options.onUnauthorized;
  }

  /** `GET /api/auth/csrf/`, which sets the `csrftoken` cookie. Safe to call repeatedly. */
  ensureCsrf(force = false): Promise<void> {
    if (force || !this.csrfPromise) {
      this.csrfPromise = this.send<undefined>("GET", "/api/auth/csrf/", {}).then(
        () => undefined,
        (error: unknown) => {
          this.csrfPromise = null;
          throw error;
        },
      );
    }
    return this.csrfPromise;
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("POST", path, { ...options, body });
  }

  patch<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("PATCH", path, { ...options, body });
  }

  delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>("DELETE", path, options);
  }

  async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    if (!UNSAFE_METHODS.has(method)) return this.send<T>(method, path, options);
    if (!this.readCookie("csrftoken")) await this.ensureCsrf(true);
    try {
      return await this.send<T>(method, path, options);
    } catch (error) {
      // Django rotates the token at login; a stale one is refreshed once and the request retried.
      if (!(error instanceof ApiError) || error.status !== 403 || !/^CSRF/i.test(error.message)) throw error;
      await this.ensureCsrf(true);
      return this.send<T>(method, path, options);
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE_METHODS.has(method)) {
      const token = this.readCookie("csrftoken");
      if (token) headers["X-CSRFToken"] = token;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(buildUrl(path, options.query), {
        method,
        headers,
        credentials: "include",
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw new ApiError(0, null, fallbackMessage(0));
    }
    const body = await readBody(response);
    if (!response.ok) {
      const error = new ApiError(response.status, body, detailOf(body) ?? fallbackMessage(response.status));
      if (isAuthenticationFailure(error)) this.onUnauthorized?.();
      throw error;
    }
    return body as T;
  }
}

async function readBody(response: Response): Promise<JsonValue | null> {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("json")) return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return null;
  }
}
