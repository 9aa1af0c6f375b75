import type { ParameterType } from "./document";

/**
 * A parameter default as the JSON type its parameter type needs: numbers for int/bigint/double
 * (text that is not yet a number, like "1.", stays text until it is), booleans for boolean.
 */
export function coerceDefault(type: ParameterType, value: string | number | boolean): string | number | boolean {
  if (type === "boolean") return value === true || value === "true";
  if (type === "int" || type === "bigint" || type === "double") {
    if (typeof value === "number") return value;
    const text = String(value).trim();
    const number = Number(text);
    return text !== "" && Number.isFinite(number) && String(number) === text ? number : String(value);
  }
  return String(value);
}
