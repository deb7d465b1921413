// Runs the long end-to-end tests first, so on CI's fresh clone (no timing cache yet) the two jest workers
// start with the quality runs and finish together, instead of one of them starting the longest test last.
const Sequencer = require('@jest/test-sequencer').default;

const SLOW_FIRST = [
  'test/e2e/evaluate-ml100k.test.ts',
  'test/e2e/propensity-bank-marketing.test.ts',
  'test/e2e/propensity-eval.test.ts',
  'test/e2e/cli-ingest.test.ts',
  'test/e2e/demo.test.ts',
];

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const index = SLOW_FIRST.findIndex((suffix) => test.path.endsWith(suffix));
      return index < 0 ? SLOW_FIRST.length : index;
    };
    const byTiming = super.sort(tests);
    return [...byTiming].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = SlowFirstSequencer;
