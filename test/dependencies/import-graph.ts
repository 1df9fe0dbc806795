/**
 * The import graph of src/: every static import, re-export and dynamic `import()` of every file, read
 * with TypeScript's own parser (so a specifier in a comment or a string is never taken for an import).
 * A relative specifier resolves to the src/ file it names; anything else is a package.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export interface ImportEdge {
  /** Repository-relative path of the importing file, e.g. `src/prover/verify.ts`. */
  readonly from: string;
  /** A repository-relative `.ts` path, or a package name (`snarkjs`, `@scope/name`, `node:fs`). */
  readonly to: string;
  /** `import type` / `export type`, or every named binding marked `type`: erased, loads nothing. */
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

export interface ImportGraph {
  readonly files: readonly string[];
  readonly edges: readonly ImportEdge[];
}

export function isPackage(to: string): boolean {
  return !to.endsWith(".ts");
}

function packageName(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

function target(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return packageName(specifier);
  // ESM sources name the compiled file: ./x.js is ./x.ts here
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, ".ts");
}

function importTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // a bare `import "x"` runs x
  if (clause.isTypeOnly) return true;
  const bindings = clause.namedBindings;
  return (
    clause.name === undefined &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((e) => e.isTypeOnly)
  );
}

function exportTypeOnly(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return (
    clause !== undefined &&
    ts.isNamedExports(clause) &&
    clause.elements.length > 0 &&
    clause.elements.every((e) => e.isTypeOnly)
  );
}

/** The imports of one file, given its repository-relative path and its text. */
export function fileImports(from: string, source: string): ImportEdge[] {
  const file = ts.createSourceFile(from, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean, dynamic: boolean): void => {
    if (specifier && ts.isStringLiteralLike(specifier))
      edges.push({ from, to: target(from, specifier.text), typeOnly, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, importTypeOnly(node), false);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, exportTypeOnly(node), false);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, true, false);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0], false, true);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return edges;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The graph of every `.ts` file under `<root>/src`. */
export function readImportGraph(root: string): ImportGraph {
  const files = sourceFiles(join(root, "src"))
    .map((path) => relative(root, path).split("\\").join("/"))
    .sort();
  const edges = files.flatMap((file) => fileImports(file, readFileSync(join(root, file), "utf8")));
  return { files, edges };
}

/** Repository root: two folders above this file. */
export const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
