/**
 * The logger snarkjs takes: silent unless one is passed. Only the CLI makes one (with --verbose);
 * library code passes through whatever it is given.
 */
export interface SnarkLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function consoleSnarkLogger(verbose: boolean): SnarkLogger {
  const write = (message: string) => process.stderr.write(`${message}\n`);
  return { debug: verbose ? write : () => {}, info: write, warn: write, error: write };
}
