import { describe, expect, it } from "vitest";
import { pathSuggestions } from "./useLandingFiles";

describe("path suggestions", () => {
  it("offers a glob per folder and extension before the files", () => {
    expect(pathSuggestions(["orders/2026-01-01.csv", "orders/2026-01-02.csv", "top.json", "raw/x/a.parquet"])).toEqual([
      "orders/*.csv",
      "raw/x/*.parquet",
      "orders/2026-01-01.csv",
      "orders/2026-01-02.csv",
      "top.json",
      "raw/x/a.parquet",
    ]);
  });
});
