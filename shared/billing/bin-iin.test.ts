import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { binIinControlDigit, isValidBinIin } from "./bin-iin.ts";

/** Written apart from the code under test: a plain loop over both weight rows. */
function referenceControl(first11: string): number | "none" {
  const rows = [
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2],
  ];
  for (const row of rows) {
    let sum = 0;
    for (let i = 0; i < 11; i++) sum += Number(first11.charAt(i)) * (row[i] as number);
    if (sum % 11 !== 10) return sum % 11;
  }
  return "none";
}

const elevenDigits = fc.stringMatching(/^\d{11}$/);

describe("isValidBinIin", () => {
  it("accepts hand-checked real BINs", () => {
    // Kaspi Bank: 9·1+7·2+1·3+2·4+4·5+0+0+0+1·9+3·10+1·11 = 104 ≡ 5 (mod 11), last digit 5.
    expect(isValidBinIin("971240001315")).toBe(true);
    // Halyk Bank: 9·1+4·2+0+1·4+4·5+0+0+0+0+3·10+8·11 = 159 ≡ 5 (mod 11), last digit 5.
    expect(isValidBinIin("940140000385")).toBe(true);
  });

  it("uses the second weight row when the first gives 10", () => {
    // 9·1+1·4+1·6+3·7+8·10+1·11 = 131 ≡ 10 → 9·3+1·6+1·8+3·9+8·1+1·2 = 78 ≡ 1, last digit 1.
    expect(binIinControlDigit("90010130081")).toBe(1);
    expect(isValidBinIin("900101300811")).toBe(true);
    expect(isValidBinIin("900101300810")).toBe(false);
  });

  it("refuses every number whose both weight rows give 10", () => {
    expect(binIinControlDigit("90010130080")).toBeUndefined();
    for (let d = 0; d <= 9; d++) expect(isValidBinIin(`90010130080${d}`)).toBe(false);
  });

  it("refuses malformed values", () => {
    for (const bad of [
      "",
      "97124000131",
      "9712400013150",
      "97124000131a",
      " 971240001315",
      "９７１２４０００１３１５",
    ]) {
      expect(isValidBinIin(bad)).toBe(false);
    }
  });

  it("refuses a single changed digit of a valid number", () => {
    expect(isValidBinIin("971240001316")).toBe(false);
    expect(isValidBinIin("971240011315")).toBe(false);
  });

  it("agrees with an independent implementation on any 11-digit prefix", () => {
    fc.assert(
      fc.property(elevenDigits, fc.integer({ min: 0, max: 9 }), (prefix, last) => {
        const ref = referenceControl(prefix);
        expect(isValidBinIin(`${prefix}${last}`)).toBe(ref !== "none" && ref === last);
        if (ref !== "none") expect(isValidBinIin(`${prefix}${ref}`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
