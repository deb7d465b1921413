import { binaryTarget, parseCsvTable, TabularEncoder } from '../../../shared/marketing/tabular';

const CSV = [
  '"age";"job";"balance";"y"',
  '30;"admin";100;"no"',
  '40;"admin";-50;"yes"',
  '50;"admin";1000;"no"',
  '60;"admin";200;"no"',
  '70;"admin";300;"yes"',
  '35;"pilot";400;"no"',
].join('\n');

describe('tabular data for propensity models', () => {
  it('reads quoted, semicolon-separated CSV with a BOM into typed columns', () => {
    const table = parseCsvTable(`\uFEFF${CSV}`);
    expect(table.columns).toEqual(['age', 'job', 'balance', 'y']);
    expect(table.rows).toBe(6);
    expect(Array.from(binaryTarget(table, 'y'))).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('names the target column or value it cannot use', () => {
    const table = parseCsvTable(CSV);
    expect(() => binaryTarget(table, 'converted')).toThrow("target column 'converted' is not in the file");
    const odd = parseCsvTable('x,y\n1,maybe');
    expect(() => binaryTarget(odd, 'y')).toThrow("target 'y' on data row 1 is 'maybe'");
    expect(() => parseCsvTable('a,b\n1,2,3')).toThrow('line 2 has 3 fields, the header has 2');
  });

  it('fits statistics and vocabularies on training rows only', () => {
    const table = parseCsvTable(CSV);
    const encoder = TabularEncoder.fit(table, [0, 1, 2, 3, 4], new Set(['y']));
    const job = encoder.features.find((feature) => feature.name === 'job');
    // 'pilot' appears only in row 5, outside the training rows: it is not a level.
    expect(job).toMatchObject({ kind: 'categorical', levels: ['admin'] });
    const age = encoder.features.find((feature) => feature.name === 'age');
    expect(age).toMatchObject({ kind: 'numeric', mean: 50 });
    expect(encoder.features.map((feature) => feature.name)).not.toContain('y');

    const encoded = encoder.encode(table, [5]);
    expect(encoded).toHaveLength(encoder.width);
    // The unseen job lands in the "other" slot of the job block.
    const jobOffset = 2 + (age?.kind === 'numeric' ? age.levels.length : 0);
    expect(Array.from(encoded.subarray(jobOffset, jobOffset + 2))).toEqual([0, 1]);
    expect(TabularEncoder.fromJSON(JSON.parse(JSON.stringify(encoder.toJSON()))).encode(table, [5])).toEqual(
      encoded,
    );
  });
});
