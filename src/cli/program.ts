// The jobq command line: global options and the table of commands (one module per command group).
// Command modules are imported lazily: a call loads only the module of the command it names, so
// `jobq jobs list` does not pay for ink, fastify or the worker (0.8 s → ~0.25 s of CPU per call).
import { Command, Option } from 'commander';
import { VERSION } from '../version.js';

interface CommandModule {
  register(program: Command): void;
}

/** Command name → the module that registers it. */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  migrate: () => import('./migrate.js'),
  enqueue: () => import('./enqueue.js'),
  dev: () => import('./dev.js'),
  worker: () => import('./worker.js'),
  api: () => import('./api.js'),
  scheduler: () => import('./scheduler.js'),
  jobs: () => import('./jobs.js'),
  retry: () => import('./retry-cancel.js'),
  cancel: () => import('./retry-cancel.js'),
  dead: () => import('./dead.js'),
  queues: () => import('./queues.js'),
  workers: () => import('./workers.js'),
  schedules: () => import('./schedules.js'),
  explain: () => import('./explain.js'),
  top: () => import('./top.js'),
};

/** Every command name jobq has. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--database-url', '--schema', '--log-level']);

/** The command word of an argv (after global options), or undefined. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (GLOBAL_OPTIONS_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * Builds the commander program for these arguments (all commands when none is named or the name is
 * unknown, so help and "unknown command" list everything). Errors are thrown (exitOverride).
 */
export async function buildProgram(args: readonly string[] = process.argv.slice(2)): Promise<Command> {
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
  const name = commandWord(args);
  const one = name === undefined ? undefined : COMMANDS[name];
  const loaders = one ? [one] : [...new Set(Object.values(COMMANDS))];
  const modules = new Set(await Promise.all(loaders.map((load) => load())));
  for (const mod of modules) mod.register(program);
  // Every subcommand throws instead of exiting, so main.ts maps every failure to an exit code.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}
