import type { Command } from 'commander';
import { forgetUser } from '../../serving/forget-user';
import { idProblem } from '../../data/ids';
import { purgeForgottenUsers } from '../../training/purge-forgotten';
import { CliError, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

interface ForgetFlags extends StackFlags {
  json?: boolean;
}

/**
 * `mappa forget <userId>`: what DELETE /v1/users/{userId} does, then the deletion job at once, so the
 * report ends with curated data clean (in AWS the job runs with the next training run).
 */
export function registerForgetCommand(program: Command): void {
  withStackFlags(
    program
      .command('forget <userId>')
      .description(
        'forget a user: delete their features, vectors, history and experiment assignments, tombstone them, rewrite curated data without them',
      )
      .option('--json', 'print the deletion report as JSON'),
  ).action(
    runAction(async (userId: string, flags: ForgetFlags) => {
      const problem = idProblem(userId.trim());
      if (problem) throw new CliError(`userId ${problem.message}`, 2);
      const services = await openLocalServices(flags);
      try {
        const tables = services.names.tables;
        const now = new Date();
        await forgetUser(services.dynamoDb, tables, userId.trim(), now);
        const purge = await purgeForgottenUsers(
          services.s3,
          services.names.dataBucket,
          { client: services.dynamoDb, table: tables.ledger },
          now,
        );
        // Re-read: the report now says when curated data became clean.
        const report = await forgetUser(services.dynamoDb, tables, userId.trim(), now);
        const result = { ...report, purge };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(result, null, 2)}\n`
            : [
                `Forgot ${report.userId} (first asked ${report.forgottenAt}).`,
                `  deleted: feature record ${report.deleted.features ? 'yes' : 'none'}, ${report.deleted.recentInteractions} recent interactions, ${report.deleted.vectors} vectors, ${report.deleted.experimentAssignments} experiment assignments`,
                `  curated data: ${report.curatedData.clean ? `clean since ${report.curatedData.cleanAt}` : report.curatedData.note} (${purge.rowsRemoved} rows removed from ${purge.objectsRewritten} objects now)`,
                '',
              ].join('\n'),
        );
      } finally {
        await services.stop();
      }
    }),
  );
}
