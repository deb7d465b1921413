import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The one place tests and benchmarks read data from outside the repository: the given data sets in
 * `../shared/data` (MovieLens's licence forbids copying it into the repository; bank marketing is read the
 * same way). Nothing else outside the repository is read.
 */
export const SHARED_DATA_DIR = join(__dirname, '..', '..', '..', 'shared', 'data');
export const ML_100K = join(SHARED_DATA_DIR, 'ml-100k', 'u.data');
export const BANK_FULL = join(SHARED_DATA_DIR, 'bank-marketing', 'bank-full.csv');

/**
 * Whether tests on a shared data file run. Without the file they are skipped, with a line naming it — except
 * on CI, where `../shared` is always beside the clone: there a missing file fails the tests that need it.
 */
export function hasSharedData(file: string, what: string): boolean {
  if (existsSync(file) || process.env.CI === 'true') return true;
  process.stderr.write(`skipping ${what}: ${file} is not there (the repository's ../shared/data)\n`);
  return false;
}
