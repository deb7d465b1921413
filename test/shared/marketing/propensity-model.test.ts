import {
  calibrated,
  DEFAULT_PROPENSITY_CONFIG,
  disposePropensity,
  ensembleLogits,
  type TrainedPropensity,
  trainPropensity,
} from '../../../shared/marketing/propensity';
import {
  deciles,
  exportPropensityModel,
  type PropensityModelArtifact,
  PropensityScorer,
} from '../../../shared/marketing/propensity-model';
import { binaryTarget, parseCsvTable, type Table, TabularEncoder } from '../../../shared/marketing/tabular';
import { initBackend } from '../../../shared/ml/backend';
import { SeededRandom } from '../../../shared/data/random';

/** A CSV of customers whose conversion depends on a number, a category and their interaction. */
function customersCsv(rows: number, seed: number, columnOrder = ['age', 'plan', 'visits', 'y']): string {
  const random = new SeededRandom(seed);
  const plans = ['basic', 'plus', 'pro'];
  const lines = [columnOrder.join(';')];
  for (let row = 0; row < rows; row++) {
    const age = Math.round(20 + random.next() * 50);
    const plan = plans[random.int(3)] as string;
    const visits = random.int(30);
    const logit = -2 + 0.08 * visits + (plan === 'pro' ? 1.2 : plan === 'plus' ? 0.4 : 0) - 0.02 * (age - 45);
    const y = random.next() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no';
    const values: Record<string, string> = {
      age: String(age),
      plan,
      visits: visits === 7 ? '' : String(visits),
      y,
    };
    lines.push(columnOrder.map((column) => values[column]).join(';'));
  }
  return lines.join('\n');
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);

describe('propensity model files', () => {
  let table: Table;
  let encoder: TabularEncoder;
  let trained: TrainedPropensity;
  let artifact: PropensityModelArtifact;

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    table = parseCsvTable(customersCsv(3_000, 5));
    const labels = binaryTarget(table, 'y');
    encoder = TabularEncoder.fit(table, range(0, 2_400), new Set(['y']));
    const matrix = (rows: number[]) => ({
      values: encoder.encode(table, rows),
      rows: rows.length,
      width: encoder.width,
    });
    const train = range(0, 2_000);
    const validation = range(2_000, 2_400);
    trained = await trainPropensity(
      matrix(train),
      Uint8Array.from(train, (row) => labels[row] as number),
      matrix(validation),
      Uint8Array.from(validation, (row) => labels[row] as number),
      { ...DEFAULT_PROPENSITY_CONFIG, ensemble: 2, maxEpochs: 6, hidden: [16, 8] },
    );
    // Through text, as it is stored.
    artifact = JSON.parse(JSON.stringify(exportPropensityModel(trained, encoder, 'y', { note: 'test' })));
  });

  afterAll(() => disposePropensity(trained));

  it('round-trips: the loaded model scores like the trained TF.js ensemble', () => {
    const test = range(2_400, 3_000);
    const expected = calibrated(
      ensembleLogits(trained.members, {
        values: encoder.encode(table, test),
        rows: test.length,
        width: encoder.width,
      }),
      trained.platt,
    );
    const scorer = PropensityScorer.fromArtifact(artifact);
    const actual = scorer.probabilities(table, test);
    expect(actual.length).toBe(test.length);
    let largest = 0;
    for (let row = 0; row < test.length; row++)
      largest = Math.max(largest, Math.abs((actual[row] as number) - (expected[row] as number)));
    expect(largest).toBeLessThan(1e-5);
    expect([scorer.target, scorer.threshold, scorer.platt, scorer.metadata]).toEqual([
      'y',
      trained.threshold,
      trained.platt,
      { note: 'test' },
    ]);
    expect(
      artifact.members.map((member) =>
        member.layers.map((layer) => [layer.inputs, layer.units, layer.activation]),
      ),
    ).toEqual(
      Array.from({ length: 2 }, () => [
        [encoder.width, 16, 'relu'],
        [16, 8, 'relu'],
        [8, 1, 'linear'],
      ]),
    );
  });

  it('finds columns by name in a file with another column order, and names missing ones', () => {
    const scorer = PropensityScorer.fromArtifact(artifact);
    const reordered = parseCsvTable(customersCsv(50, 9, ['y', 'visits', 'plan', 'age']));
    const original = parseCsvTable(customersCsv(50, 9));
    const rows = range(0, 50);
    expect(Array.from(scorer.probabilities(reordered, rows))).toEqual(
      Array.from(scorer.probabilities(original, rows)),
    );
    const withoutPlan = parseCsvTable(customersCsv(5, 9, ['age', 'visits']));
    expect(() => scorer.probabilities(withoutPlan, [0])).toThrow('the model needs column(s) plan');
  });

  it('rejects documents that are not models or whose weights do not fit their shapes', () => {
    expect(() => PropensityScorer.fromArtifact({ ...artifact, format: 'other' } as never)).toThrow(
      "not a Mappa propensity model (format 'other'",
    );
    const [first] = artifact.members;
    const truncated = { ...first?.layers[0], kernel: Buffer.alloc(8).toString('base64') };
    const broken = { ...artifact, members: [{ layers: [truncated, ...(first?.layers.slice(1) ?? [])] }] };
    expect(() => PropensityScorer.fromArtifact(broken as PropensityModelArtifact)).toThrow(
      'member 0 layer 0: weights do not match its shape',
    );
    expect(() => PropensityScorer.fromArtifact({ ...artifact, members: [] })).toThrow('no ensemble members');
    expect(() =>
      PropensityScorer.fromArtifact({ ...artifact, context: { kind: 'day-month', day: 'day' } } as never),
    ).toThrow("the model's context is not a contact date spec");
  });
});

describe('deciles', () => {
  it('puts the highest tenth of scores in decile 1 and the lowest in 10, ties in row order', () => {
    const scores = Array.from({ length: 20 }, (_, row) => row / 20); // row 19 is the highest
    expect(Array.from(deciles(scores))).toEqual(
      Array.from({ length: 20 }, (_, row) => 10 - Math.floor(row / 2)),
    );
    expect(Array.from(deciles([0.5, 0.5, 0.5]))).toEqual([1, 4, 7]);
    expect(deciles([]).length).toBe(0);
  });
});
