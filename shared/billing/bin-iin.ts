/**
 * Kazakhstan business (БИН) and individual (ИИН) identification numbers: 12 digits, the last one a
 * control digit. Control: Σ dᵢ·i (i = 1..11) mod 11; when that is 10, Σ dᵢ·wᵢ mod 11 with
 * w = 3,4,5,6,7,8,9,10,11,1,2; when that is 10 too, no control digit exists and the number is invalid.
 * Only the checksum is verified, not the date or entity-type digits inside the number.
 */
const FIRST_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] as const;
const SECOND_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2] as const;

/** The control digit for the first 11 digits, or undefined when no digit can be one. */
export function binIinControlDigit(first11: string): number | undefined {
  if (!/^\d{11}$/.test(first11)) throw new RangeError("expected 11 digits");
  const digits = Array.from(first11, Number);
  const weighted = (weights: readonly number[]) =>
    digits.reduce((sum, d, i) => sum + d * (weights[i] ?? 0), 0) % 11;
  const first = weighted(FIRST_WEIGHTS);
  if (first !== 10) return first;
  const second = weighted(SECOND_WEIGHTS);
  return second === 10 ? undefined : second;
}

export function isValidBinIin(value: string): boolean {
  if (typeof value !== "string" || !/^\d{12}$/.test(value)) return false;
  const control = binIinControlDigit(value.slice(0, 11));
  return control !== undefined && control === Number(value[11]);
}
