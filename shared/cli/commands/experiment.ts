import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ImportedAssignment, importAssignments, unknownArm } from '../../marketing/experiment-import';
import { getExperiment, importAssignment } from '../../marketing/experiment-store';
import { DEFAULT_ATTRIBUTION_WINDOW_DAYS } from '../../marketing/experiments';
import { parseCsvTable, TableError } from '../../marketing/tabular';
import { noteExperimentExposure } from '../../serving/user-state';
import { CliError, requireInputFile, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

interface ImportFlags extends StackFlags {
  csv: string;
  experiment: string;
  user: string;
  arm: string;
  time?: string;
  json?: boolean;
}

/** The file's rows as assignments (user, arm, optional exposure time as ISO-8601 or Unix seconds). */
export function assignmentsFromCsv(
  text: string,
  columns: { user: string; arm: string; time?: string },
): ImportedAssignment[] {
  const table = parseCsvTable(text);
  const column = (name: string, flag: string) => {
    const index = table.columns.indexOf(name);
    if (index < 0)
      throw new TableError(
        `${flag} column '${name}' is not in the file (columns: ${table.columns.join(', ')})`,
      );
    return table.values[index] as readonly string[];
  };
  const users = column(columns.user, '--user');
  const arms = column(columns.arm, '--arm');
  const times = columns.time ? column(columns.time, '--time') : undefined;
  return users.map((userId, row) => {
    const raw = times?.[row] ?? '';
    let exposedAt: string | undefined;
    if (raw !== '') {
      const number = Number(raw);
      const at = Number.isFinite(number)
        ? new Date(number > 100_000_000_000 ? number : number * 1000)
        : new Date(raw);
      if (Number.isNaN(at.getTime()))
        throw new TableError(`${columns.time} on data row ${row + 1} is '${raw}': not a date or Unix time`);
      exposedAt = at.toISOString();
    }
    if (userId === '') throw new TableError(`${columns.user} on data row ${row + 1} is empty`);
    return { userId, variant: arms[row] as string, ...(exposedAt ? { exposedAt } : {}) };
  });
}

/** `mappa experiment import`: what POST /v1/experiments/{id}/assignments does, for a whole file, on the local stack. */
export function registerExperimentCommands(program: Command): void {
  const experiment = program.command('experiment').description('experiments on the local stack');
  withStackFlags(
    experiment
      .command('import')
      .description(
        'import who was in which arm of a campaign sent outside Mappa (each user once; a repeated import changes nothing)',
      )
      .requiredOption(
        '--csv <file>',
        'one row per customer: user id, arm, and optionally when they got the treatment',
      )
      .requiredOption('--experiment <id>', 'the experiment (created with POST /v1/experiments)')
      .option('--user <column>', 'the user id column', 'user_id')
      .option('--arm <column>', 'the arm column (values: the experiment’s variant names)', 'arm')
      .option(
        '--time <column>',
        'exposure time column (ISO-8601 or Unix seconds); the import time when absent',
      )
      .option('--json', 'print the import summary as JSON'),
  ).action(
    runAction(async (flags: ImportFlags) => {
      requireInputFile(flags.csv, '--csv');
      let assignments: ImportedAssignment[];
      try {
        assignments = assignmentsFromCsv(readFileSync(flags.csv, 'utf8'), {
          user: flags.user,
          arm: flags.arm,
          ...(flags.time ? { time: flags.time } : {}),
        });
      } catch (error) {
        if (error instanceof TableError) throw new CliError(error.message, 2);
        throw error;
      }
      const services = await openLocalServices(flags);
      try {
        // Under the experiments function's role, as the API call would be.
        const clients = services.clientsFor('api-experiments');
        const table = { client: clients.dynamoDb, table: services.names.tables.experiments };
        const definition = await getExperiment(table, flags.experiment);
        if (!definition)
          throw new CliError(
            `experiment '${flags.experiment}' does not exist (create it with POST /v1/experiments)`,
            2,
          );
        const unknown = unknownArm(definition, assignments);
        if (unknown)
          throw new CliError(`${flags.arm} on data row ${unknown.index + 1} ${unknown.message}`, 2);
        let done = 0;
        const summary = await importAssignments(
          async (userId, variant, exposedAt) => {
            const result = await importAssignment(
              table,
              flags.experiment,
              userId,
              variant,
              exposedAt,
              definition.attributionWindowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS,
            );
            await noteExperimentExposure(
              clients.dynamoDb,
              services.names.tables.users,
              userId,
              flags.experiment,
            );
            if (++done % 5_000 === 0) process.stderr.write(`${done} of ${assignments.length} assignments\n`);
            return result;
          },
          assignments,
          new Date(),
        );
        const result = { experimentId: flags.experiment, rows: assignments.length, ...summary };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(result, null, 2)}\n`
            : `${flags.experiment}: ${summary.imported} imported, ${summary.alreadyAssigned} already in the same arm, ${summary.conflicts} already in another arm (kept)\n`,
        );
      } finally {
        await services.stop();
      }
    }),
  );
}
