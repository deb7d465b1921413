import {
  CONTACT_VOLUME_COLUMN,
  contactDateKeys,
  contactVolumes,
  detectContactDate,
  monthNumber,
  withContactVolume,
} from '../../../shared/marketing/contact-context';
import { parseCsvTable } from '../../../shared/marketing/tabular';

describe('campaign context: contacts on the same date', () => {
  it('finds the contact date columns by name, leaving out unavailable ones', () => {
    expect(detectContactDate(['age', 'Day', 'month', 'y'])).toEqual({
      kind: 'day-month',
      day: 'Day',
      month: 'month',
    });
    expect(detectContactDate(['day', 'month', 'year'])).toEqual({
      kind: 'day-month',
      day: 'day',
      month: 'month',
      year: 'year',
    });
    expect(detectContactDate(['contact_date', 'day', 'month'])).toEqual({
      kind: 'date',
      date: 'contact_date',
    });
    expect(detectContactDate(['day', 'month'], new Set(['month']))).toBeUndefined();
    expect(detectContactDate(['day_of_week', 'month'])).toBeUndefined();
    expect(detectContactDate(['age', 'balance'])).toBeUndefined();
  });

  it('matches headers written for people (spaces, hyphens, capitals) and keeps their spelling', () => {
    expect(detectContactDate(['Customer', 'Contact Date', 'Outcome'])).toEqual({
      kind: 'date',
      date: 'Contact Date',
    });
    expect(detectContactDate(['CALL-DATE'])).toEqual({ kind: 'date', date: 'CALL-DATE' });
    expect(detectContactDate(['Day of Month', 'MONTH', 'Year'])).toEqual({
      kind: 'day-month',
      day: 'Day of Month',
      month: 'MONTH',
      year: 'Year',
    });
    expect(detectContactDate(['Contact Date'], new Set(['Contact Date']))).toBeUndefined();
    expect(detectContactDate(['Day of Week', 'Month'])).toBeUndefined();
    const table = parseCsvTable(
      ['Customer,Contact Date', 'a,2024-05-02', 'b,2024-05-02', 'c,2024-05-03'].join('\n'),
    );
    const spec = detectContactDate(table.columns);
    expect(withContactVolume(table, spec as NonNullable<typeof spec>).values.at(-1)).toEqual(['2', '2', '1']);
  });

  it.each([
    ['may', 5],
    ['MAY', 5],
    ['September', 9],
    ['sept.', 9],
    ['05', 5],
    ['12', 12],
    ['13', Number.NaN],
    ['0', Number.NaN],
    ['maybe later', Number.NaN],
    ['', Number.NaN],
  ])('reads month %j as %d', (raw, month) => {
    expect(monthNumber(raw)).toEqual(month);
  });

  it('infers the year from row order: a step back in month starts the next year', () => {
    const table = parseCsvTable(
      ['day;month', '5;may', '5;may', '31;dec', '2;jan', '5;may', '9;jun', '32;jun', '1;nope'].join('\n'),
    );
    expect(contactDateKeys(table, { kind: 'day-month', day: 'day', month: 'month' })).toEqual([
      '+0-5-5',
      '+0-5-5',
      '+0-12-31',
      '+1-1-2',
      '+1-5-5', // May of the next year is another date
      '+1-6-9',
      '', // day 32
      '', // not a month
    ]);
  });

  it('uses a year column or a full date when there is one', () => {
    const table = parseCsvTable(
      ['day,month,year,when', '1,3,2020,2020-03-01', '1,3,2021,2020-03-01T09:30:00Z', '1,3,,03/01/2020'].join(
        '\n',
      ),
    );
    expect(contactDateKeys(table, { kind: 'day-month', day: 'day', month: 'month', year: 'year' })).toEqual([
      '2020-3-1',
      '2021-3-1',
      '',
    ]);
    expect(contactDateKeys(table, { kind: 'date', date: 'when' })).toEqual(['2020-03-01', '2020-03-01', '']);
  });

  it('counts rows per date; unknown dates stay empty (the encoder fills them with the training mean)', () => {
    expect(contactVolumes(['a', 'b', 'a', '', 'a'])).toEqual(['3', '1', '3', '', '3']);
  });

  it('appends the column, and keeps a column the file already has (a planned volume)', () => {
    const table = parseCsvTable(['id,day,month', 'x,1,jan', 'y,1,jan', 'z,2,jan'].join('\n'));
    const spec = detectContactDate(table.columns);
    expect(spec).toBeDefined();
    const withVolume = withContactVolume(table, spec as NonNullable<typeof spec>);
    expect(withVolume.columns).toEqual(['id', 'day', 'month', CONTACT_VOLUME_COLUMN]);
    expect(withVolume.values.at(-1)).toEqual(['2', '2', '1']);
    expect(table.columns).toEqual(['id', 'day', 'month']); // not modified
    const planned = parseCsvTable(['id,day,month,contacts_same_day', 'x,1,jan,250'].join('\n'));
    expect(withContactVolume(planned, spec as NonNullable<typeof spec>)).toBe(planned);
  });

  it('names the missing date column', () => {
    const table = parseCsvTable(['id,month', 'x,jan'].join('\n'));
    expect(() => withContactVolume(table, { kind: 'day-month', day: 'day', month: 'month' })).toThrow(
      "contact date column 'day' is not in the file",
    );
  });
});
