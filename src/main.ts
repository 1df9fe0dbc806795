/** The `proofgate` executable: runs the CLI and exits with its code. */
import { runCli } from "./cli/index.js";
import { releaseSnarkWorkers } from "./snark/snark-workers.js";

try {
  process.exitCode = await runCli(process.argv.slice(2));
} finally {
  await releaseSnarkWorkers();
}
