import * as z from '../data/schema';
import { normaliseColumnName } from '../ingest/validate';
import { type Table, TableError } from './tabular';

/**
 * Campaign context for contact logs (one row per contact, e.g. a call list):
 * how many contacts the campaign made on the row's contact date.
 *
 * Customer columns say who is called, not under what conditions. A day with
 * thousands of calls is a mass campaign to a broad list; a day with a few dozen
 * is follow-ups to selected customers, and the two convert at very different
 * rates. The volume needs no outcome labels and is known when a day's list is
 * scored, so it is a feature, not a leak. (On bank-full's temporal split it
 * carries the regime change that per-customer columns cannot: docs/marketing.md.)
 */
export const CONTACT_VOLUME_COLUMN = 'contacts_same_day';

const columnName = z.string().check(z.minLength(1));

/** Where a row's contact date comes from: one date column, or day-of-month and month (and year) columns. */
export const contactDateSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('date'), date: columnName }),
  z.object({
    kind: z.literal('day-month'),
    day: columnName,
    month: columnName,
    year: z.optional(columnName),
  }),
]);
export type ContactDateSpec = Readonly<z.infer<typeof contactDateSpecSchema>>;

const DATE_COLUMNS = ['date', 'contact_date', 'call_date'];
const DAY_COLUMNS = ['day', 'day_of_month'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The contact date columns of a table, by name; columns in `unavailable` (target, dropped) are not used.
 * Names are compared as ingestion compares them (`Contact Date`, `CALL-DATE` → `contact_date`, `call_date`):
 * CRM exports spell headers for people, not programs.
 */
export function detectContactDate(
  columns: readonly string[],
  unavailable: ReadonlySet<string> = new Set(),
): ContactDateSpec | undefined {
  const find = (names: readonly string[]) =>
    columns.find((column) => names.includes(normaliseColumnName(column)) && !unavailable.has(column));
  const date = find(DATE_COLUMNS);
  if (date !== undefined) return { kind: 'date', date };
  const day = find(DAY_COLUMNS);
  const month = find(['month']);
  if (day === undefined || month === undefined) return undefined;
  const year = find(['year']);
  return year === undefined ? { kind: 'day-month', day, month } : { kind: 'day-month', day, month, year };
}

export function dateColumnsOf(spec: ContactDateSpec): string[] {
  if (spec.kind === 'date') return [spec.date];
  return [spec.day, spec.month, ...(spec.year === undefined ? [] : [spec.year])];
}

/** 1-12 from `5`, `05`, `may`, `May`, `MAY`, `mayo`… (three-letter prefix); NaN otherwise. */
export function monthNumber(raw: string): number {
  const text = raw.trim().toLowerCase();
  if (/^\d{1,2}$/.test(text)) {
    const month = Number(text);
    return month >= 1 && month <= 12 ? month : Number.NaN;
  }
  const index = MONTHS.indexOf(text.slice(0, 3));
  return index >= 0 && /^[a-z]+\.?$/.test(text) ? index + 1 : Number.NaN;
}

function columnValues(table: Table, name: string): readonly string[] {
  const index = table.columns.indexOf(name);
  if (index < 0) {
    throw new TableError(
      `contact date column '${name}' is not in the file (${CONTACT_VOLUME_COLUMN} is counted from it; or give the file a ${CONTACT_VOLUME_COLUMN} column)`,
    );
  }
  return table.values[index] as readonly string[];
}

/**
 * A date key per row ('' when the row's date is missing or invalid). Without a
 * year column the rows are taken to be in time order — the same assumption as
 * the temporal split — and a step back in month starts the next year, so May of
 * two different years are different dates.
 */
export function contactDateKeys(table: Table, spec: ContactDateSpec): string[] {
  if (spec.kind === 'date') {
    return columnValues(table, spec.date).map((raw) => {
      const match = /^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$/.exec(raw.trim());
      return match ? (match[1] as string) : '';
    });
  }
  const days = columnValues(table, spec.day);
  const months = columnValues(table, spec.month);
  const years = spec.year === undefined ? undefined : columnValues(table, spec.year);
  let inferredYear = 0;
  let previousMonth = 0;
  return days.map((rawDay, row) => {
    const day = Number(rawDay);
    const month = monthNumber(months[row] ?? '');
    if (!Number.isInteger(day) || day < 1 || day > 31 || Number.isNaN(month)) return '';
    if (years !== undefined) {
      const year = (years[row] ?? '').trim();
      return /^\d{4}$/.test(year) ? `${year}-${month}-${day}` : '';
    }
    if (month < previousMonth) inferredYear++;
    previousMonth = month;
    return `+${inferredYear}-${month}-${day}`;
  });
}

/** Number of rows per date key, per row ('' stays '': unknown). */
export function contactVolumes(keys: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const key of keys) if (key !== '') counts.set(key, (counts.get(key) ?? 0) + 1);
  return keys.map((key) => (key === '' ? '' : String(counts.get(key))));
}

/**
 * The table with a `contacts_same_day` column appended (counted within this
 * table: score a day's whole list, or the whole log, in one file). A table that
 * already has the column keeps its own values, so a planned volume can be given.
 */
export function withContactVolume(table: Table, spec: ContactDateSpec): Table {
  if (table.columns.includes(CONTACT_VOLUME_COLUMN)) return table;
  return {
    columns: [...table.columns, CONTACT_VOLUME_COLUMN],
    values: [...table.values, contactVolumes(contactDateKeys(table, spec))],
    rows: table.rows,
  };
}
