import { Command } from 'commander';
import { registerDemoCommand } from './commands/demo';
import { registerEvaluateCommand } from './commands/evaluate';
import { registerExportCommand } from './commands/export';
import { registerGenerateCommand } from './commands/generate';
import { registerIngestCommand } from './commands/ingest';
import { registerLocalCommands } from './commands/local';
import { registerCtrEvalCommand } from './commands/ctr-eval';
import { registerPropensityEvalCommand } from './commands/propensity-eval';
import { registerPropensityScoreCommand } from './commands/propensity-score';
import { registerRecommendCommand } from './commands/recommend';
import { registerReportCommand } from './commands/report';
import { registerServeCommand } from './commands/serve';
import { registerTrainCommand } from './commands/train';

// The SDK's Node 22 notice is documented in the README; one line per command run is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('mappa')
  .description('Self-hosted personalization: users, items and behaviour mapped into one embedding space.')
  .showHelpAfterError()
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
registerServeCommand(program);
registerExportCommand(program);
registerReportCommand(program);
registerRecommendCommand(program);
registerDemoCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`mappa: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
