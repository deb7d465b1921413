import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { CliError } from './errors';
import { registerDemoCommand } from './commands/demo';
import { registerEvaluateCommand } from './commands/evaluate';
import { registerExportCommand } from './commands/export';
import { registerExperimentCommands } from './commands/experiment';
import { registerForgetCommand } from './commands/forget';
import { registerGenerateCommand } from './commands/generate';
import { registerIngestCommand } from './commands/ingest';
import { registerLocalCommands } from './commands/local';
import { registerOpenApiCommand } from './commands/openapi';
import { registerCtrEvalCommand } from './commands/ctr-eval';
import { registerPropensityEvalCommand } from './commands/propensity-eval';
import { registerPropensityScoreCommand } from './commands/propensity-score';
import { registerPriceEvalCommand } from './commands/price-eval';
import { registerUpliftEvalCommand } from './commands/uplift-eval';
import { registerUpliftScoreCommand } from './commands/uplift-score';
import { registerRecommendCommand } from './commands/recommend';
import { registerReportCommand } from './commands/report';
import { registerServeCommand } from './commands/serve';
import { registerTrainCommand } from './commands/train';

// `mappa … | head` closes the pipe early: that is the reader being done, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// The SDK's Node 22 notice is documented in the README; one line per command run is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('mappa')
  .description('Self-hosted personalization: users, items and behaviour mapped into one embedding space.')
  .version(packageVersion(), '-V, --version', 'print the version')
  // Usage errors are one line, `mappa: …`, exit 2 — not the whole help (subcommands inherit these settings).
  .configureOutput({ outputError: (text, write) => write(usageErrorLine(text)) })
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerLocalCommands(program);
registerGenerateCommand(program);
registerIngestCommand(program);
registerEvaluateCommand(program);
registerTrainCommand(program);
registerPropensityEvalCommand(program);
registerCtrEvalCommand(program);
registerPropensityScoreCommand(program);
registerUpliftEvalCommand(program);
registerPriceEvalCommand(program);
registerUpliftScoreCommand(program);
registerServeCommand(program);
registerExportCommand(program);
registerForgetCommand(program);
registerExperimentCommands(program);
registerReportCommand(program);
registerRecommendCommand(program);
registerDemoCommand(program);
registerOpenApiCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // An option parser's CliError (a bad --port, say) arrives here, outside any command's action.
  process.stderr.write(`mappa: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
});

/** commander's "error: unknown option '--x'\n(Did you mean --y?)" as one line with a pointer to --help. */
function usageErrorLine(text: string): string {
  const message = text
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  const known = new Set(program.commands.map((command) => command.name()));
  const command = process.argv.slice(2).find((argument) => known.has(argument));
  return `mappa: ${message} (see mappa ${command ? `${command} ` : ''}--help)\n`;
}

function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
}
