// Entry point of the `jobq` binary: runs the command and maps errors to exit codes. The only process.exit.
import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { EXIT, JobqError, exitCodeFor, isConnectionError } from './errors.js';

async function main(): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; usage mistakes exit 2 (commander printed the message)
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof JobqError) {
      process.stderr.write(`jobq: ${err.message}\n`);
      return exitCodeFor(err);
    }
    if (isConnectionError(err)) {
      process.stderr.write(`jobq: cannot reach PostgreSQL: ${(err as Error).message}\n`);
      return EXIT.databaseUnavailable;
    }
    process.stderr.write(
      `jobq: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.userError;
  }
}

// Exit explicitly: operator commands are done, and daemons only return once fully stopped.
process.exit(await main());
