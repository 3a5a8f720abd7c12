// `jobq migrate [--status]`: apply pending migrations, or show which are applied.
import type { Command } from 'commander';
import { migrate, migrationStatus } from '../db/migrate.js';
import { openDatabase, operatorConfigFrom } from './context.js';
import { iso, printJson, printTable, say } from './output.js';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (safe to run from many processes at once)')
    .option('--status', 'list migrations and whether each is applied, change nothing')
    .option('--json', 'machine-readable output')
    .action(async (opts: { status?: boolean; json?: boolean }, cmd: Command) => {
      const config = operatorConfigFrom(cmd);
      const db = await openDatabase(config, { checkMigrated: false, timeouts: false });
      try {
        if (opts.status) {
          const status = await migrationStatus(db.exec);
          if (opts.json) printJson(status);
          else
            printTable(
              ['version', 'name', 'applied at'],
              status.map((s) => [s.version, s.name, s.appliedAt ? iso(s.appliedAt) : 'pending']),
            );
          return;
        }
        const applied = await migrate(db.exec);
        if (opts.json) printJson({ applied: applied.map((a) => a.name), schema: config.schema });
        else
          say(
            applied.length
              ? `applied ${applied.map((a) => a.name).join(', ')} to schema ${config.schema}`
              : `schema ${config.schema} is up to date`,
          );
      } finally {
        await db.close();
      }
    });
}
