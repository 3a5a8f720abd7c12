// Entry point of the `jobq` binary: runs the command, maps errors to exit codes, and is the only place
// that ends the process: it waits for stdout and stderr to drain first (a pipe to `jq` gets every
// byte), and a reader that closes early (`| head -1`) ends jobq quietly.
import { CommanderError } from 'commander';
import { buildProgram } from './cli/program.js';
import { EXIT, describeError, exitCodeFor } from './errors.js';

// A closed pipe on stdout means the reader has what it wanted: stop quietly, with success.
const onStreamError = (err: NodeJS.ErrnoException): void => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
};
process.stdout.on('error', onStreamError);
process.stderr.on('error', onStreamError);

// Warnings from libraries (pg's sslmode notice, …) as one line each, not Node's multi-line block.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  process.stderr.write(`jobq: warning: ${w.message.split('\n')[0] ?? w.name}\n`);
});

async function main(): Promise<number> {
  try {
    const program = await buildProgram();
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; usage mistakes exit 2 (commander printed the message)
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const known = describeError(err);
    if (known) {
      process.stderr.write(`jobq: ${known.message}\n`);
      return exitCodeFor(known);
    }
    process.stderr.write(
      `jobq: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.userError;
  }
}

/** Resolves once everything written so far to the stream has been handed to the OS. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

/** Exits with the code once stdout and stderr are flushed. */
async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // Exit explicitly: operator commands are done, and daemons only return once fully stopped.
  process.exit(code);
}

await exitAfterFlush(await main());
