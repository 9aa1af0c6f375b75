import { describe, expect, it } from "vitest";
import { formatBytes, formatCell, parseTags } from "./format";

describe("formatBytes", () => {
  it("scales by 1024 with one decimal below ten", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(12 * 1024 * 1024)).toBe("12 MB");
    expect(formatBytes(3 * 1024 ** 5)).toBe("3072 TB");
  });
  it("shows nothing for unknown sizes", () => {
    expect(formatBytes(null)).toBe("");
    expect(formatBytes(-1)).toBe("");
  });
});

describe("formatCell", () => {
  it("tells NULL from text and shows lists as JSON", () => {
    expect(formatCell(null)).toBeNull();
    expect(formatCell("NULL")).toBe("NULL");
    expect(formatCell(["amount_positive", "email_present"])).toBe('["amount_positive","email_present"]');
    expect(formatCell(false)).toBe("false");
    expect(formatCell("-5.00")).toBe("-5.00");
  });
});

describe("parseTags", () => {
  it("splits on commas and spaces and drops duplicates", () => {
    expect(parseTags(" gold, crm  gold,,pii ")).toEqual(["gold", "crm", "pii"]);
    expect(parseTags("")).toEqual([]);
  });
});
