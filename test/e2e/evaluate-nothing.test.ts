import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMappa } from '../support/cli';

describe('mappa evaluate on a log no user can be evaluated on', () => {
  it('says so and exits non-zero instead of printing a table of zeros', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mappa-evaluate-'));
    try {
      // Prepare: 4 users with 2 items each (leave-last-out needs 3).
      const csv = join(dir, 'two-each.csv');
      const rows = ['a', 'b', 'c', 'd'].flatMap((user, index) => [
        `${user},i1,${1_700_000_000 + index},view,`,
        `${user},i2,${1_700_000_100 + index},view,`,
      ]);
      writeFileSync(csv, ['user_id,item_id,timestamp,event_type,event_value', ...rows].join('\n'));
      // Act
      const result = runMappa(['evaluate', '--interactions', csv, '--json']);
      // Assess
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(
        `nothing to evaluate in '${csv}': no user has the 3 distinct items the leave-last-out protocol needs (4 users, at most 2 items each)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
