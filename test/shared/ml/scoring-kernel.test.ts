import { compileWat, embeddedModuleSource, WAT_MODULES } from '../../../shared/ml/kernels/compile-wat';
import { ScoringKernel } from '../../../shared/ml/kernels/scoring-kernel';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function seededValues(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  });
}

describe('ScoringKernel', () => {
  it.each(WAT_MODULES.map((module) => [module.wat, module]))(
    'embeds exactly the module compiled from %s',
    async (_name, module) => {
      const bytes = await compileWat(module);
      const embedded = readFileSync(join(__dirname, '../../../shared/ml/kernels', module.embedded), 'utf8');
      expect(embedded).toBe(embeddedModuleSource(module, bytes));
    },
  );

  it.each([1, 4, 5, 16, 17, 65, 68])('matches a float64 dot product for rows of width %i', (width) => {
    const rows = 37;
    const values = seededValues(rows * width, width);
    const query = seededValues(width, width + 1000);
    const scores = new ScoringKernel(rows, width).load(values).scores(query);
    expect(scores).toHaveLength(rows);
    for (let row = 0; row < rows; row++) {
      let expected = 0;
      for (let d = 0; d < width; d++) expected += (values[row * width + d] as number) * (query[d] as number);
      expect(scores[row]).toBeCloseTo(expected, 5);
    }
  });

  it('returns unpadded rows and rejects a query of the wrong width', () => {
    const kernel = new ScoringKernel(2, 3).load(Float32Array.of(1, 2, 3, 4, 5, 6));
    expect(Array.from(kernel.row(1))).toEqual([4, 5, 6]);
    expect(kernel.matrixBytes).toBe(2 * 4 * 4);
    expect(() => kernel.scores(Float32Array.of(1, 2))).toThrow('query has 2 values, the matrix rows have 3');
    expect(() => kernel.load(Float32Array.of(1))).toThrow('expected 6 values, got 1');
  });

  it('keeps separate matrices for separate kernels', () => {
    const first = new ScoringKernel(1, 2).load(Float32Array.of(1, 1));
    const second = new ScoringKernel(1, 2).load(Float32Array.of(10, 10));
    expect(first.scores(Float32Array.of(1, 1))[0]).toBe(2);
    expect(second.scores(Float32Array.of(1, 1))[0]).toBe(20);
  });
});
