import { CsvSplitter } from '../ingest/records';
import { detectDelimiter } from '../ingest/mapping';

/**
 * A CSV table for tabular models (propensity): typed columns, a binary target,
 * and an encoder fitted on training rows only, so no statistic leaks from the
 * rows a model is evaluated on.
 */
export interface Table {
  readonly columns: readonly string[];
  /** Row-major raw values, one array per column (columnar: cheap per-column statistics). */
  readonly values: readonly (readonly string[])[];
  readonly rows: number;
}

export class TableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableError';
  }
}

/** Parses CSV text (`,` `;` or tab, detected; RFC 4180 quotes; BOM tolerated). */
export function parseCsvTable(text: string): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = body.slice(0, body.indexOf('\n') === -1 ? body.length : body.indexOf('\n'));
  const splitter = new CsvSplitter({ delimiter: detectDelimiter(firstLine) });
  const records = [...splitter.push(Buffer.from(body, 'utf8')), ...splitter.end()];
  const header = records.shift();
  if (!header) throw new TableError('the CSV file is empty');
  const columns = header.fields.map((name) => name.trim());
  const values = columns.map(() => [] as string[]);
  for (const record of records) {
    if (record.fields.length !== columns.length) {
      throw new TableError(
        `line ${record.line} has ${record.fields.length} fields, the header has ${columns.length}`,
      );
    }
    record.fields.forEach((field, column) => (values[column] as string[]).push(field.trim()));
  }
  return { columns, values, rows: records.length };
}

const POSITIVE = new Set(['1', 'yes', 'y', 'true', 't']);
const NEGATIVE = new Set(['0', 'no', 'n', 'false', 'f']);

/** The target column as 0/1, with an error naming the first value that is neither. */
export function binaryTarget(table: Table, target: string, role = 'target'): Uint8Array {
  const column = table.columns.indexOf(target);
  if (column === -1) {
    throw new TableError(
      `${role} column '${target}' is not in the file (columns: ${table.columns.join(', ')})`,
    );
  }
  const raw = table.values[column] as readonly string[];
  return Uint8Array.from(raw, (value, row) => {
    const normalised = value.toLowerCase();
    if (POSITIVE.has(normalised)) return 1;
    if (NEGATIVE.has(normalised)) return 0;
    throw new TableError(
      `${role} '${target}' on data row ${row + 1} is '${value}', not a yes/no or 1/0 value`,
    );
  });
}

interface NumericFeature {
  readonly kind: 'numeric';
  readonly column: number;
  readonly name: string;
  /** Clipping bounds (1st/99th percentile of training rows) and standardisation of both encodings. */
  readonly low: number;
  readonly high: number;
  readonly mean: number;
  readonly sd: number;
  readonly logMean: number;
  readonly logSd: number;
  /** For low-cardinality integers (day of month, number of contacts): also one-hot. */
  readonly levels: readonly number[];
}

interface CategoricalFeature {
  readonly kind: 'categorical';
  readonly column: number;
  readonly name: string;
  /** Values seen at least MIN_LEVEL_COUNT times in training; others share one "other" slot. */
  readonly levels: readonly string[];
}

export type FeatureSpec = NumericFeature | CategoricalFeature;

const MIN_LEVEL_COUNT = 5;
const MAX_ONE_HOT_INTEGER_LEVELS = 32;

const signedLog = (value: number) => Math.sign(value) * Math.log1p(Math.abs(value));

function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);
  const variance = values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(values.length, 1);
  return { mean, sd: Math.sqrt(variance) || 1 };
}

/**
 * Learns how to turn rows into a numeric matrix, from the training rows only:
 * numeric columns → clipped z-score and z-scored signed log (heavy tails such as
 * balances), plus one-hot for low-cardinality integers; text columns → one-hot of
 * frequent values plus "other". Missing numbers become the training mean.
 */
export class TabularEncoder {
  readonly width: number;

  private constructor(readonly features: readonly FeatureSpec[]) {
    let width = 0;
    for (const feature of features) {
      width += feature.kind === 'numeric' ? 2 + feature.levels.length : feature.levels.length + 1;
    }
    this.width = width;
  }

  static fit(table: Table, trainingRows: readonly number[], exclude: ReadonlySet<string>): TabularEncoder {
    const features: FeatureSpec[] = [];
    table.columns.forEach((name, column) => {
      if (exclude.has(name)) return;
      const raw = table.values[column] as readonly string[];
      const numbers = trainingRows.map((row) => raw[row] as string).filter((value) => value !== '');
      const numeric = numbers.length > 0 && numbers.every((value) => Number.isFinite(Number(value)));
      if (numeric) {
        const parsed = numbers.map(Number).sort((a, b) => a - b);
        const low = parsed[Math.floor(parsed.length * 0.01)] as number;
        const high = parsed[Math.min(parsed.length - 1, Math.floor(parsed.length * 0.99))] as number;
        const clipped = meanSd(parsed.map((value) => Math.min(high, Math.max(low, value))));
        const logged = meanSd(parsed.map(signedLog));
        const distinct = [...new Set(parsed)];
        const integerLevels =
          distinct.length <= MAX_ONE_HOT_INTEGER_LEVELS && distinct.every(Number.isInteger) ? distinct : [];
        features.push({
          kind: 'numeric',
          column,
          name,
          low,
          high,
          mean: clipped.mean,
          sd: clipped.sd,
          logMean: logged.mean,
          logSd: logged.sd,
          levels: integerLevels,
        });
      } else {
        const counts = new Map<string, number>();
        for (const row of trainingRows)
          counts.set(raw[row] as string, (counts.get(raw[row] as string) ?? 0) + 1);
        const levels = [...counts]
          .filter(([, count]) => count >= MIN_LEVEL_COUNT)
          .map(([value]) => value)
          .sort();
        features.push({ kind: 'categorical', column, name, levels });
      }
    });
    if (features.length === 0)
      throw new TableError('no feature columns remain after dropping the target and --drop');
    return new TabularEncoder(features);
  }

  static fromJSON(json: { features: readonly FeatureSpec[] }): TabularEncoder {
    return new TabularEncoder(json.features);
  }

  /**
   * The same encoding for another table (e.g. new rows to score with a saved
   * model): columns are found by name, wherever they are in that table.
   */
  forTable(table: Table): TabularEncoder {
    const missing = this.features.filter((feature) => !table.columns.includes(feature.name));
    if (missing.length > 0) {
      throw new TableError(
        `the model needs column(s) ${missing.map((feature) => feature.name).join(', ')}, which the file does not have`,
      );
    }
    return new TabularEncoder(
      this.features.map((feature) => ({ ...feature, column: table.columns.indexOf(feature.name) })),
    );
  }

  toJSON(): { features: readonly FeatureSpec[] } {
    return { features: this.features };
  }

  /** Encodes the given rows into a row-major Float32Array of rows × width. */
  encode(table: Table, rows: readonly number[]): Float32Array {
    const out = new Float32Array(rows.length * this.width);
    rows.forEach((row, position) => {
      let offset = position * this.width;
      for (const feature of this.features) {
        const raw = (table.values[feature.column] as readonly string[])[row] ?? '';
        if (feature.kind === 'numeric') {
          const value = raw === '' || !Number.isFinite(Number(raw)) ? feature.mean : Number(raw);
          out[offset] = (Math.min(feature.high, Math.max(feature.low, value)) - feature.mean) / feature.sd;
          out[offset + 1] = (signedLog(value) - feature.logMean) / feature.logSd;
          const level = feature.levels.indexOf(value);
          if (level >= 0) out[offset + 2 + level] = 1;
          offset += 2 + feature.levels.length;
        } else {
          const level = feature.levels.indexOf(raw);
          out[offset + (level >= 0 ? level : feature.levels.length)] = 1;
          offset += feature.levels.length + 1;
        }
      }
    });
    return out;
  }
}
