/**
 * circom's .sym file: which witness position holds each named signal ("main.requantize[3].q").
 * Signals removed by simplification have no position and are left out.
 */
import { readFile } from "node:fs/promises";

export async function loadSymbols(path: string): Promise<Map<string, number>> {
  const symbols = new Map<string, number>();
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const [, varIdx, , name] = line.split(",");
    if (name !== undefined && Number(varIdx) >= 0) symbols.set(name, Number(varIdx));
  }
  return symbols;
}
