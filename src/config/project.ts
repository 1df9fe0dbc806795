/**
 * Where the project's own files are (templates, contracts, shipped artifacts, the explorer's page):
 * the checkout or the installed package, whether running from src/ (tsx) or dist/src/ (compiled).
 * And the version the gateway reports, read once from package.json so it is written in one place.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..").replace(/\/dist$/, "");

export const PACKAGE_VERSION = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8"))).version;
