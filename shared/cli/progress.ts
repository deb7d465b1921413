import { SingleBar } from 'cli-progress';

/**
 * A progress display for long work: a live bar with ETA on a terminal, and
 * periodic plain lines (with ETA) when output is a file or CI log.
 */
export interface Progress {
  update(done: number, detail?: string): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} {detail}`,
        hideCursor: true,
        stream,
      },
      undefined,
    );
    bar.start(total, 0, { detail: '' });
    return {
      update: (done, detail = '') => bar.update(done, { detail }),
      stop: () => bar.stop(),
    };
  }
  const started = Date.now();
  let lastLine = 0;
  const line = (done: number, detail: string) => {
    const elapsed = (Date.now() - started) / 1000;
    const eta = done > 0 ? Math.max(0, (elapsed * (total - done)) / done) : Number.NaN;
    const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
    stream.write(
      `${label}: ${done}/${total} (${percent}%), ${elapsed.toFixed(1)} s elapsed, ETA ${Number.isFinite(eta) ? `${eta.toFixed(1)} s` : 'unknown'}${detail ? `, ${detail}` : ''}\n`,
    );
  };
  return {
    update: (done, detail = '') => {
      if (Date.now() - lastLine >= 5_000 || done >= total) {
        lastLine = Date.now();
        line(done, detail);
      }
    },
    stop: () => undefined,
  };
}
