import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, initBackend } from '../shared/ml/backend';
import { registerScatterAddKernel, restoreStockKernel } from '../shared/ml/kernels/scatter-add-segment-sum';
import { createReferenceModel, randomReferenceExamples } from '../shared/ml/reference-model';
import { type Row, report } from './report';

/**
 * Reference-model training throughput per TF.js backend: user Embedding(943,32),
 * item Embedding(1682,32), concat, Dense(64, relu), Dense(1, sigmoid), BCE, Adam,
 * batch 1024, 200k random examples, one timed epoch after a warm-up epoch.
 */
const EXAMPLES = 200_000;
const BATCH = 1024;
const NUM_USERS = 943;
const NUM_ITEMS = 1682;

export async function measureReferenceModel(label: string, examples = EXAMPLES): Promise<Row> {
  const data = randomReferenceExamples(examples, NUM_USERS, NUM_ITEMS, 1);
  const model = createReferenceModel({ numUsers: NUM_USERS, numItems: NUM_ITEMS });
  const users = tf.tensor2d(data.users, [examples, 1], 'int32');
  const items = tf.tensor2d(data.items, [examples, 1], 'int32');
  const labels = tf.tensor2d(data.labels, [examples, 1]);
  try {
    const warmCount = Math.min(examples, 20 * BATCH);
    await model.fit([users.slice(0, warmCount), items.slice(0, warmCount)], labels.slice(0, warmCount), {
      batchSize: BATCH,
      epochs: 1,
      verbose: 0,
    });
    const started = performance.now();
    const history = await model.fit([users, items], labels, { batchSize: BATCH, epochs: 1, verbose: 0 });
    const seconds = (performance.now() - started) / 1000;
    return {
      backend: label,
      examples,
      seconds: Number(seconds.toFixed(2)),
      examples_per_s: Math.round(examples / seconds),
      final_loss: Number(Number(history.history.loss?.[0] ?? Number.NaN).toFixed(4)),
      status: 'ok',
    };
  } finally {
    tf.dispose([users, items, labels]);
    model.dispose();
  }
}

export async function runBackendBenchmark(): Promise<void> {
  const rows: Row[] = [];
  for (const backend of BACKEND_NAMES) {
    try {
      await initBackend({ force: backend });
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      rows.push({
        backend,
        examples: 0,
        seconds: 0,
        examples_per_s: 0,
        final_loss: null,
        status: `unavailable: ${reason}`,
      });
      continue;
    }
    process.stderr.write(`measuring ${backend}...\n`);
    rows.push(await measureReferenceModel(backend));
  }
  // Baseline: the stock cpu UnsortedSegmentSum kernel (quadratic), on fewer examples because it is slow.
  await initBackend({ force: 'cpu' });
  restoreStockKernel(tf, 'cpu');
  process.stderr.write('measuring cpu with the stock kernel (baseline)...\n');
  rows.push(await measureReferenceModel('cpu (stock kernel, baseline)', 8 * BATCH));
  registerScatterAddKernel(tf, 'cpu');
  report('backend', rows, {
    model:
      'Embedding(943,32)+Embedding(1682,32) -> concat -> Dense(64,relu) -> Dense(1,sigmoid); BCE; Adam; batch 1024',
    targets: { wasm_examples_per_s: 80_000 },
  });
}
