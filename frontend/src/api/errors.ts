import { ApiError } from "./client";
import type { Diagnostic, JsonObject, JsonValue, ValidationResult } from "./types";

function isObject(value: JsonValue | null | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDiagnostic(value: JsonValue): boolean {
  return isObject(value) && typeof value["message"] === "string" && typeof value["path"] === "string";
}

/** A 400 body shaped `{"valid": false, "errors": [...], "warnings": [...]}`. */
export function validationResultOf(error: unknown): ValidationResult | null {
  if (!(error instanceof ApiError) || !isObject(error.body)) return null;
  const body = error.body;
  if (body["valid"] !== false || !Array.isArray(body["errors"])) return null;
  const errors = body["errors"];
  const warnings = Array.isArray(body["warnings"]) ? body["warnings"] : [];
  if (!errors.every(isDiagnostic) || !warnings.every(isDiagnostic)) return null;
  const schemas = isObject(body["schemas"]) ? body["schemas"] : {};
  return {
    valid: false,
    errors: errors as unknown as Diagnostic[],
    warnings: warnings as unknown as Diagnostic[],
    schemas: schemas as unknown as ValidationResult["schemas"],
  };
}

function flattenMessages(value: JsonValue): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(flattenMessages);
  if (isObject(value)) {
    return Object.entries(value).flatMap(([key, inner]) =>
      flattenMessages(inner).map((message) => `${key}: ${message}`),
    );
  }
  return [];
}

/** `{"field": ["sentence", ...]}` as field -> sentences; `detail` and `non_field_errors` are excluded. */
export function fieldErrorsOf(error: unknown): Record<string, string[]> {
  if (!(error instanceof ApiError) || error.status !== 400 || !isObject(error.body)) return {};
  if (validationResultOf(error)) return {};
  const result: Record<string, string[]> = {};
  for (const [field, value] of Object.entries(error.body)) {
    if (field === "detail" || field === "non_field_errors") continue;
    const messages = flattenMessages(value);
    if (messages.length > 0) result[field] = messages;
  }
  return result;
}

/** Every sentence an error carries, in a form fit to show a person. */
export function errorSentences(error: unknown): string[] {
  if (error instanceof ApiError) {
    const body = error.body;
    const validation = validationResultOf(error);
    if (validation) {
      const lines = validation.errors.map((d) => (d.node ? `${d.node}: ${d.message}` : d.message));
      return lines.length > 0 ? lines : ["The pipeline is not valid."];
    }
    if (isObject(body)) {
      const sentences: string[] = [];
      if (typeof body["detail"] === "string") sentences.push(body["detail"]);
      if (body["non_field_errors"] !== undefined) sentences.push(...flattenMessages(body["non_field_errors"]));
      for (const [field, messages] of Object.entries(fieldErrorsOf(error))) {
        sentences.push(...messages.map((m) => `${field}: ${m}`));
      }
      if (sentences.length > 0) return sentences;
    }
    return [error.message];
  }
  if (error instanceof Error && error.message) return [error.message];
  return ["Something went wrong."];
}

export function errorSentence(error: unknown): string {
  return errorSentences(error).join(" ");
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}
