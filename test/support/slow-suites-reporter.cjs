// Prints the slowest test files and where the run's time went, after Jest's own summary: the suite has an
// 8-minute budget on a 2-core machine, and this is the first thing to read when it creeps up.
class SlowSuitesReporter {
  onRunComplete(_contexts, results) {
    const suites = results.testResults
      .map((result) => ({
        file: result.testFilePath.replace(`${process.cwd()}/`, ''),
        seconds: (result.perfStats.end - result.perfStats.start) / 1000,
      }))
      .sort((a, b) => b.seconds - a.seconds);
    const total = suites.reduce((sum, suite) => sum + suite.seconds, 0);
    const wall = (Date.now() - results.startTime) / 1000;
    const lines = [
      '',
      `Slowest test files (wall ${wall.toFixed(0)} s; ${total.toFixed(0)} s of worker time over ${suites.length} files):`,
      ...suites.slice(0, 10).map((suite) => `  ${suite.seconds.toFixed(1).padStart(7)} s  ${suite.file}`),
      '',
    ];
    process.stderr.write(`${lines.join('\n')}\n`);
  }
}

module.exports = SlowSuitesReporter;
