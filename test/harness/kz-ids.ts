/** A 12-digit BIN/IIN: the 11 given digits and the Kazakh control digit (weights 1..11, then 3..11,1,2). */
export function validBin(first11: string): string {
  const digits = [...first11].map(Number);
  const weigh = (w: number[]) => digits.reduce((s, d, i) => s + d * w[i]!, 0) % 11;
  let check = weigh([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  if (check === 10) check = weigh([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
  if (check === 10) throw new Error("no valid control digit for these 11 digits");
  return `${first11}${check}`;
}
