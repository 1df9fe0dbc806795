/** The `proofgate` executable: runs the CLI and exits with its code. */
import { runCli } from "./cli/index.js";

process.exitCode = await runCli(process.argv.slice(2));
