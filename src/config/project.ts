/**
 * Where the project's own files are (templates, contracts, shipped artifacts, the explorer's page):
 * the checkout or the installed package, whether running from src/ (tsx) or dist/src/ (compiled).
 * And the version the gateway reports, read once from package.json so it is written in one place.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { readArtifactSync } from "../core/read-artifact.js";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..").replace(/\/dist$/, "");

export const PACKAGE_VERSION = readArtifactSync(
  join(PROJECT_ROOT, "package.json"),
  z.object({ version: z.string() }),
).version;
