/**
 * Solidity → ABI and bytecode with solc-js (npm), in-process. One fixed compiler setup (optimizer and
 * the IR pipeline on, which moves what does not fit the stack to memory;
 * the `cancun` EVM, which every major chain runs) so the bytecode, and the gas it costs, is the same
 * everywhere it is built.
 */
import solc from "solc";
import { z } from "zod";

export const CompiledContract = z.object({
  abi: z.array(z.record(z.string(), z.unknown())).readonly(),
  /** Creation bytecode, 0x-prefixed. */
  bytecode: z.string().regex(/^0x[0-9a-fA-F]*$/),
  /** Bytes of runtime code: EIP-170 caps it at 24,576. */
  deployedSize: z.int(),
});
export type CompiledContract = z.infer<typeof CompiledContract>;

export const SOLC_SETTINGS = { optimizer: { enabled: true, runs: 100000 }, viaIR: true, evmVersion: "cancun" } as const;

export function solcVersion(): string {
  return solc.version();
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  sources?: Record<string, { ast: AstNode }>;
  contracts?: Record<
    string,
    Record<
      string,
      { abi: Record<string, unknown>[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }
    >
  >;
}

interface AstNode {
  readonly nodeType: string;
  readonly canonicalName?: string;
  readonly name?: string;
  readonly nodes?: readonly AstNode[];
  readonly members?: readonly AstNode[];
}

function compile(
  sources: Readonly<Record<string, string>>,
  outputSelection: Record<string, Record<string, string[]>>,
): SolcOutput {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(Object.entries(sources).map(([path, content]) => [path, { content }])),
    settings: { ...SOLC_SETTINGS, outputSelection },
  };
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: (path: string) => ({ error: `${path} is not among the sources` }) }),
  ) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join("\n")}`);
  return output;
}

/**
 * Every enum the sources define, by canonical name (`Contract.Enum`) → member names in order: the
 * ABI carries an enum as a bare uint8, so its members come from the syntax tree.
 */
export function solidityEnums(sources: Readonly<Record<string, string>>): Record<string, string[]> {
  const output = compile(sources, { "*": { "": ["ast"] } });
  const enums: Record<string, string[]> = {};
  const visit = (node: AstNode): void => {
    if (node.nodeType === "EnumDefinition") enums[node.canonicalName!] = node.members!.map((m) => m.name!);
    for (const child of node.nodes ?? []) visit(child);
  };
  for (const { ast } of Object.values(output.sources ?? {})) visit(ast);
  return enums;
}

/**
 * Compiles the given sources (path → text; imports resolve among them). Returns every contract under
 * `path:Name`, and under `Name` alone when that name is unique. Throws with solc's messages on error.
 */
export function compileSolidity(sources: Readonly<Record<string, string>>): Record<string, CompiledContract> {
  const output = compile(sources, { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } });
  const byPath: Record<string, CompiledContract> = {};
  const byName = new Map<string, CompiledContract[]>();
  for (const [path, contracts] of Object.entries(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(contracts)) {
      if (!c.evm.bytecode.object || !c.abi.some((f) => f.type === "function")) continue; // interfaces, abstract contracts, internal libraries
      const compiled = {
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedSize: c.evm.deployedBytecode.object.length / 2,
      };
      byPath[`${path}:${name}`] = compiled;
      byName.set(name, [...(byName.get(name) ?? []), compiled]);
    }
  }
  for (const [name, list] of byName) if (list.length === 1) byPath[name] = list[0];
  return byPath;
}
