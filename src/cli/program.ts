// The jobq command line: global options and the list of commands (one module per command group).
import { Command, Option } from 'commander';
import { register as registerMigrate } from './migrate.js';
import { register as registerEnqueue } from './enqueue.js';
import { register as registerDev } from './dev.js';
import { VERSION } from '../version.js';

/** Builds the commander program. Errors are thrown (exitOverride), never process.exit'ed here. */
export function buildProgram(): Command {
  const program = new Command('jobq')
    .description(
      'jobq: background jobs on PostgreSQL — workers, API, scheduler and operator tools in one binary',
    )
    .version(VERSION)
    .addOption(new Option('--database-url <url>', 'PostgreSQL connection string').env('DATABASE_URL'))
    .addOption(new Option('--schema <name>', 'schema holding the jobq tables').env('JOBQ_SCHEMA'))
    .addOption(new Option('--log-level <level>', 'log level').env('JOBQ_LOG_LEVEL'))
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of [registerMigrate, registerEnqueue, registerDev]) register(program);
  // Every subcommand throws instead of exiting, so main.ts maps every failure to an exit code.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}
