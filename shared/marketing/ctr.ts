import {
  type ClickTowerConfig,
  DEFAULT_CLICK_TOWER_CONFIG,
  type Impressions,
  trainClickTowers,
} from '../ml/click-towers';
import { SeededRandom } from '../data/random';
import { logLoss } from '../ml/metrics';
import { calibrationCurve, expectedCalibrationError, rocAuc } from './classification-metrics';
import {
  calibrated,
  DEFAULT_PROPENSITY_CONFIG,
  disposePropensity,
  ensembleLogits,
  type Matrix,
  type PropensityConfig,
  trainPropensity,
} from './propensity';
import { binaryTarget, parseCsvTable, type Table, TableError, TabularEncoder } from './tabular';

/**
 * `mappa ctr-eval`: a calibrated click probability per (user, item) from an impression log (one row per
 * impression, a 0/1 label column for the click), evaluated next to a logistic regression.
 *
 * Rows are ordered by time (or shuffled, seeded, without a timestamp) and cut into three parts, so nothing
 * is scored by a model that saw its label: the first 60% fit the two-tower model (a pointwise model of
 * clicks, shared/ml/click-towers.ts) and the user and item click-rate statistics; the next 20% train the head — a small
 * MLP on the two-tower score plus side features, Platt-calibrated on that part's last fifth; the last 20% test.
 * The logistic regression gets the same side features and rates, without the two-tower score: the
 * comparison says what the learned (user, item) mapping adds.
 */
export interface CtrEvalOptions {
  readonly label: string;
  /** @default 'user_id' */
  readonly userColumn?: string;
  /** @default 'item_id' */
  readonly itemColumn?: string;
  /** Orders rows for the temporal split when present. @default 'timestamp' */
  readonly timestampColumn?: string;
  /** Columns to leave out of the side features (ids of other kinds, leaks). */
  readonly drop?: readonly string[];
  readonly seed?: number;
  readonly twoTower?: Partial<ClickTowerConfig>;
  readonly onProgress?: (line: string) => void;
}

export interface CtrMetrics {
  readonly rocAuc: number;
  /** 95% confidence interval of the ROC AUC (Hanley & McNeil). */
  readonly rocAucCi95: readonly [number, number];
  readonly logLoss: number;
  /** Expected calibration error over 10 equal-width bins. */
  readonly calibrationError: number;
  readonly brier: number;
  /** Mean predicted click probability (compare with the observed click rate). */
  readonly meanPredicted: number;
  readonly calibration: { predicted: number; observed: number; count: number }[];
}

export interface CtrEvalResult {
  readonly label: string;
  readonly rows: number;
  readonly clickRate: number;
  readonly split: 'temporal' | 'random';
  readonly parts: { readonly embedding: number; readonly head: number; readonly test: number };
  readonly test: { readonly rows: number; readonly clicks: number };
  /** Side feature columns encoded for both models (beyond the click-rate statistics). */
  readonly sideFeatures: readonly string[];
  readonly twoTower: {
    readonly users: number;
    readonly items: number;
    readonly epochs: number;
    readonly bestEpoch: number;
    readonly seconds: number;
  };
  readonly models: { readonly ctr: CtrMetrics; readonly logisticRegression: CtrMetrics };
  /** E.g. a test set too small for the difference between the models to mean much. */
  readonly warnings: readonly string[];
}

/** Fewer test clicks or non-clicks than this and the AUC's interval is wide: say so. */
export const SMALL_TEST_CLASS = 200;
/** Pseudo-impressions of the smoothing prior of user and item click rates. */
const RATE_PRIOR_WEIGHT = 20;

export async function evaluateCtrCsv(text: string, options: CtrEvalOptions): Promise<CtrEvalResult> {
  const table = parseCsvTable(text);
  const labels = binaryTarget(table, options.label, 'label');
  const userColumn = requiredColumn(table, options.userColumn ?? 'user_id', '--user-column');
  const itemColumn = requiredColumn(table, options.itemColumn ?? 'item_id', '--item-column');
  const timestampName = options.timestampColumn ?? 'timestamp';
  const timeColumn = table.columns.indexOf(timestampName);
  for (const column of options.drop ?? []) {
    if (!table.columns.includes(column))
      throw new TableError(
        `--drop column '${column}' is not in the file (columns: ${table.columns.join(', ')})`,
      );
  }
  if (table.rows < 50)
    throw new TableError(`the file has ${table.rows} rows; a CTR evaluation needs at least 50`);
  const users = table.values[userColumn] as readonly string[];
  const items = table.values[itemColumn] as readonly string[];
  const times =
    timeColumn >= 0 ? Float64Array.from(table.values[timeColumn] as readonly string[], Number) : undefined;
  if (times?.some((time) => !Number.isFinite(time)))
    throw new TableError(`column '${timestampName}' holds a value that is not a number (Unix seconds)`);

  const order = Array.from({ length: table.rows }, (_, row) => row);
  if (times) order.sort((a, b) => (times[a] as number) - (times[b] as number) || a - b);
  else new SeededRandom(options.seed ?? 7).shuffle(order);
  const embeddingEnd = Math.floor(table.rows * 0.6);
  const headEnd = Math.floor(table.rows * 0.8);
  const embeddingRows = order.slice(0, embeddingEnd);
  const headRows = order.slice(embeddingEnd, headEnd);
  const testRows = order.slice(headEnd);
  const clicksIn = (rows: readonly number[]) => rows.reduce((sum, row) => sum + (labels[row] as number), 0);
  if (clicksIn(embeddingRows) === 0)
    throw new TableError('the first 60% of the rows hold no click: nothing to learn from');

  // The (user, item) mapping: a pointwise two-tower model of clicks, early-stopped on the part's last 15%.
  const progress = options.onProgress ?? (() => undefined);
  const started = performance.now();
  const userIndex = indexOf(embeddingRows.map((row) => users[row] as string));
  const itemIndex = indexOf(embeddingRows.map((row) => items[row] as string));
  const impressions = (rows: readonly number[]): Impressions => ({
    users: Int32Array.from(rows, (row) => (userIndex.get(users[row] as string) ?? -1) + 1),
    items: Int32Array.from(rows, (row) => (itemIndex.get(items[row] as string) ?? -1) + 1),
    labels: Float32Array.from(rows, (row) => labels[row] as number),
  });
  const fitEnd = Math.floor(embeddingRows.length * 0.85);
  const towers = await trainClickTowers(
    impressions(embeddingRows.slice(0, fitEnd)),
    impressions(embeddingRows.slice(fitEnd)),
    userIndex.size,
    itemIndex.size,
    {
      ...DEFAULT_CLICK_TOWER_CONFIG,
      seed: options.seed ?? DEFAULT_CLICK_TOWER_CONFIG.seed,
      ...options.twoTower,
    },
    (epoch, loss) => progress(`two-tower epoch ${epoch}: validation log loss ${loss.toFixed(4)}`),
  );
  const twoTowerSeconds = (performance.now() - started) / 1000;
  const scored = [...headRows, ...testRows];
  const pairs = impressions(scored);
  const pairLogits = towers.logits(pairs.users, pairs.items);
  towers.dispose();
  // Per row: the two-tower logit, and whether the user or item was unknown to it (the logit is then a prior).
  const pairScore = new Map<number, number[]>(
    scored.map((row, position) => [
      row,
      [
        pairLogits[position] as number,
        pairs.users[position] === 0 ? 1 : 0,
        pairs.items[position] === 0 ? 1 : 0,
      ],
    ]),
  );

  // Click-rate statistics of the embedding part, smoothed toward its overall rate.
  const overallRate = clicksIn(embeddingRows) / embeddingRows.length;
  const rates = (ids: readonly string[]) => {
    const counts = new Map<string, { shown: number; clicked: number }>();
    for (const row of embeddingRows) {
      const entry = counts.get(ids[row] as string) ?? { shown: 0, clicked: 0 };
      entry.shown++;
      entry.clicked += labels[row] as number;
      counts.set(ids[row] as string, entry);
    }
    return (row: number) => {
      const entry = counts.get(ids[row] as string) ?? { shown: 0, clicked: 0 };
      const rate = (entry.clicked + overallRate * RATE_PRIOR_WEIGHT) / (entry.shown + RATE_PRIOR_WEIGHT);
      return [logit(rate), Math.log1p(entry.shown), entry.shown === 0 ? 1 : 0];
    };
  };
  const userRate = rates(users);
  const itemRate = rates(items);
  const exclude = new Set([
    options.label,
    table.columns[userColumn] as string,
    table.columns[itemColumn] as string,
    ...(timeColumn >= 0 ? [timestampName] : []),
    ...(options.drop ?? []),
  ]);
  const sideColumns = table.columns.filter((column) => !exclude.has(column));
  const encoder = sideColumns.length > 0 ? TabularEncoder.fit(table, headRows, exclude) : undefined;

  const headSplit = Math.floor(headRows.length * 0.8);
  const parts = {
    train: headRows.slice(0, headSplit),
    validation: headRows.slice(headSplit),
    test: testRows,
  };
  for (const [name, rows] of Object.entries(parts)) {
    const clicks = clicksIn(rows);
    if (clicks === 0 || clicks === rows.length)
      throw new TableError(
        `the ${name} rows of the head hold only ${clicks === 0 ? 'non-clicks' : 'clicks'}; the file is too small or too one-sided`,
      );
  }
  const features = (rows: readonly number[], withTwoTower: boolean): Matrix => {
    const engineered = rows.map((row) => [
      ...(withTwoTower ? (pairScore.get(row) as number[]) : []),
      ...userRate(row),
      ...itemRate(row),
    ]);
    const engineeredWidth = engineered[0]?.length ?? 0;
    const side = encoder?.encode(table, rows);
    const width = engineeredWidth + (encoder?.width ?? 0);
    const values = new Float32Array(rows.length * width);
    rows.forEach((_, position) => {
      values.set(engineered[position] as number[], position * width);
      if (side && encoder)
        values.set(
          side.subarray(position * encoder.width, (position + 1) * encoder.width),
          position * width + engineeredWidth,
        );
    });
    return { values, rows: rows.length, width };
  };
  const labelsOf = (rows: readonly number[]) => Uint8Array.from(rows, (row) => labels[row] as number);
  const fit = async (withTwoTower: boolean, config: PropensityConfig) => {
    const train = standardised(features(parts.train, withTwoTower));
    const validation = train.apply(features(parts.validation, withTwoTower));
    const test = train.apply(features(parts.test, withTwoTower));
    const model = await trainPropensity(
      train.matrix,
      labelsOf(parts.train),
      validation,
      labelsOf(parts.validation),
      config,
    );
    const probabilities = calibrated(ensembleLogits(model.members, test), model.platt);
    disposePropensity(model);
    return ctrMetrics(probabilities, labelsOf(parts.test));
  };
  progress('training the calibrated head (two-tower score + side features) and the logistic regression');
  const base = {
    ...DEFAULT_PROPENSITY_CONFIG,
    seed: options.seed ?? 7,
    ensemble: 1,
    refit: false,
    recencyHalfLife: 0,
  };
  const ctr = await fit(true, { ...base, hidden: [16], dropout: 0.1 });
  const logisticRegression = await fit(false, {
    ...base,
    hidden: [],
    dropout: 0,
    learningRate: 0.01,
    l2: 1e-3,
  });

  const testClicks = clicksIn(testRows);
  const warnings: string[] = [];
  if (Math.min(testClicks, testRows.length - testClicks) < SMALL_TEST_CLASS) {
    const [low, high] = ctr.rocAucCi95;
    warnings.push(
      `small test set: ${testRows.length} rows with ${testClicks} clicks; the CTR model's ROC AUC ${ctr.rocAuc.toFixed(3)} ` +
        `has a 95% confidence interval of ${low.toFixed(3)}–${high.toFixed(3)}, so differences smaller than that are noise`,
    );
  }
  let allClicks = 0;
  for (const label of labels) allClicks += label;
  return {
    label: options.label,
    rows: table.rows,
    clickRate: allClicks / table.rows,
    split: times ? 'temporal' : 'random',
    parts: { embedding: embeddingRows.length, head: headRows.length, test: testRows.length },
    test: { rows: testRows.length, clicks: testClicks },
    sideFeatures: encoder?.features.map((feature) => feature.name) ?? [],
    twoTower: {
      users: userIndex.size,
      items: itemIndex.size,
      epochs: towers.epochs,
      bestEpoch: towers.bestEpoch,
      seconds: Number(twoTowerSeconds.toFixed(1)),
    },
    models: { ctr, logisticRegression },
    warnings,
  };
}

function requiredColumn(table: Table, name: string, flag: string): number {
  const column = table.columns.indexOf(name);
  if (column === -1)
    throw new TableError(
      `column '${name}' is not in the file (columns: ${table.columns.join(', ')}); name it with ${flag}`,
    );
  return column;
}

function indexOf(ids: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const id of ids) if (!index.has(id)) index.set(id, index.size);
  return index;
}

/** z-scores columns with the training rows' mean and sd, and applies the same to other parts. */
function standardised(train: Matrix): { matrix: Matrix; apply: (other: Matrix) => Matrix } {
  const mean = new Float64Array(train.width);
  const sd = new Float64Array(train.width);
  for (let row = 0; row < train.rows; row++)
    for (let column = 0; column < train.width; column++)
      mean[column] = (mean[column] as number) + (train.values[row * train.width + column] as number);
  mean.forEach((sum, column) => (mean[column] = sum / Math.max(train.rows, 1)));
  for (let row = 0; row < train.rows; row++)
    for (let column = 0; column < train.width; column++)
      sd[column] =
        (sd[column] as number) +
        ((train.values[row * train.width + column] as number) - (mean[column] as number)) ** 2;
  sd.forEach((sum, column) => (sd[column] = Math.sqrt(sum / Math.max(train.rows, 1)) || 1));
  const apply = (matrix: Matrix): Matrix => ({
    ...matrix,
    values: matrix.values.map(
      (value, index) =>
        (value - (mean[index % matrix.width] as number)) / (sd[index % matrix.width] as number),
    ),
  });
  return { matrix: apply(train), apply };
}

function logit(p: number): number {
  const clipped = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(clipped / (1 - clipped));
}

/** The 95% interval of a ROC AUC from its class sizes (Hanley & McNeil 1982), clipped to [0, 1]. */
export function rocAucInterval(auc: number, positives: number, negatives: number): [number, number] {
  if (!Number.isFinite(auc) || positives === 0 || negatives === 0) return [Number.NaN, Number.NaN];
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance =
    (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) /
    (positives * negatives);
  const half = 1.96 * Math.sqrt(Math.max(variance, 0));
  return [Math.max(0, auc - half), Math.min(1, auc + half)];
}

export function ctrMetrics(probabilities: ArrayLike<number>, labels: Uint8Array): CtrMetrics {
  let positives = 0;
  let brier = 0;
  let predicted = 0;
  for (let index = 0; index < labels.length; index++) {
    positives += labels[index] as number;
    brier += ((probabilities[index] as number) - (labels[index] as number)) ** 2;
    predicted += probabilities[index] as number;
  }
  const auc = rocAuc(probabilities, labels);
  const round = (value: number) => Number(value.toFixed(4));
  const [low, high] = rocAucInterval(auc, positives, labels.length - positives);
  return {
    rocAuc: round(auc),
    rocAucCi95: [round(low), round(high)],
    logLoss: round(logLoss(probabilities, labels)),
    calibrationError: round(expectedCalibrationError(probabilities, labels)),
    brier: round(brier / Math.max(labels.length, 1)),
    meanPredicted: round(predicted / Math.max(labels.length, 1)),
    calibration: calibrationCurve(probabilities, labels),
  };
}
