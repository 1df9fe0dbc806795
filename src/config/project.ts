/**
 * Where the project's own files are (templates, contracts, shipped artifacts, the explorer's page):
 * the checkout or the installed package, whether running from src/ (tsx) or dist/src/ (compiled).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..").replace(/\/dist$/, "");
