import { runBackendBenchmark } from './backend';
import { runCtrBenchmark } from './ctr';
import { runEventsBenchmark } from './events';
import { runIngestBenchmark } from './ingest';
import { runPropensityBenchmark } from './propensity';
import { runServingBenchmark } from './serving';
import { runSplitterBenchmark } from './splitter';
import { runStatsBenchmark } from './stats';
import { runNegativesBenchmark, runTrainingBenchmark, runXlargeBenchmark } from './training';
import { runUpliftBenchmark } from './uplift';

/** `npm run bench -- <name...>`: runs the named benchmarks (all when none is named, but the longest). */
const BENCHMARKS: Record<string, () => Promise<void>> = {
  backend: runBackendBenchmark,
  ingest: runIngestBenchmark,
  training: runTrainingBenchmark,
  'training-xlarge': runXlargeBenchmark,
  'training-negatives': runNegativesBenchmark,
  serving: runServingBenchmark,
  events: runEventsBenchmark,
  propensity: runPropensityBenchmark,
  ctr: runCtrBenchmark,
  splitter: runSplitterBenchmark,
  stats: runStatsBenchmark,
  uplift: runUpliftBenchmark,
};

/** Benchmarks that take 25 minutes or more here run only when named. */
const ONLY_WHEN_NAMED = new Set(['training-xlarge']);

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown benchmark(s): ${unknown.join(', ')}. Available: ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    process.exit(2);
  }
  const all = Object.keys(BENCHMARKS).filter((name) => !ONLY_WHEN_NAMED.has(name));
  for (const name of requested.length > 0 ? requested : all) {
    await (BENCHMARKS[name] as () => Promise<void>)();
  }
}

// The SDK's Node 22 notice is documented in the README.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
void main();
