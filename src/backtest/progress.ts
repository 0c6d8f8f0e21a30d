// Progress of a long backtest on standard error: a bar on a terminal, a line every ~10 s otherwise.

/** Where progress goes: a writable stream such as `process.stderr`. */
export interface ProgressStream {
  write(text: string): unknown;
  /** Whether it is a terminal (a bar is drawn only there). */
  isTTY?: boolean | undefined;
  /** Terminal width in characters, when known. */
  columns?: number | undefined;
}

export interface ProgressOptions {
  /** Where to write. Default `process.stderr`. */
  stream?: ProgressStream | undefined;
  /** Draw a bar (true) or write periodic lines (false). Default: whether `stream` is a TTY. */
  tty?: boolean | undefined;
  /** Write nothing at all (the CLI's quiet switch). Default false. */
  quiet?: boolean | undefined;
  /** Without a terminal: time between two progress lines. Default 10000 (ms). */
  intervalMs?: number | undefined;
  /** On a terminal: least time between two redraws of the bar. Default 100 (ms). */
  redrawMs?: number | undefined;
  /** Clock, for tests. Default `Date.now` (epoch ms). */
  now?: (() => number) | undefined;
}

export interface Progress {
  /** `done` of `total` units (bytes while reading, requests while replaying) of the step `label`. */
  update(done: number, total: number, label: string): void;
  /** Writes `text` as a line of its own, without breaking the bar. */
  note(text: string): void;
  /** Ends the report: the bar gets its last state and a newline; the line timer stops. */
  finish(): void;
}

/** Characters of the bar itself on a terminal of 73 columns or more. */
const BAR_WIDTH = 24;

/** "1 min 05 s", "42 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Creates the progress report of one run; call `finish()` when it is over. */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = options.tty ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? 10_000;
  const redrawMs = options.redrawMs ?? 100;
  if (options.quiet) {
    return { update: () => undefined, note: (text) => void stream.write(`${text}\n`), finish() {} };
  }

  const started = now();
  let state: { done: number; total: number; label: string } | undefined;
  let changed = false;
  /** Start of the current step (a new `total` is a new step: reading, then replaying). */
  let step = { total: Number.NaN, at: started, done: 0 };
  let lastDraw = Number.NEGATIVE_INFINITY;
  let barShown = false;

  const describe = (withElapsed: boolean): string => {
    const s = state as NonNullable<typeof state>;
    const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const parts: string[] = [];
    if (withElapsed) parts.push(`${formatDuration(now() - started)} elapsed`);
    const stepMs = now() - step.at;
    const rate = (s.done - step.done) / Math.max(1, stepMs);
    // An estimate only after a second of the step, once it has moved at all.
    if (stepMs >= 1000 && rate > 0 && s.done < s.total) {
      parts.push(`about ${formatDuration((s.total - s.done) / rate)} left`);
    }
    return `${pct} ${s.label}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
  };

  const draw = () => {
    const width = Math.max(40, (stream.columns ?? 80) - 1);
    const frac = state && state.total > 0 ? Math.min(1, state.done / state.total) : 0;
    // A narrow terminal keeps room for the label: the bar takes at most a third of the line.
    const bar = Math.min(BAR_WIDTH, Math.floor(width / 3));
    const filled = Math.round(frac * bar);
    const text = `[${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${describe(false)}`;
    // Pad to the width so that a shorter line hides the end of a longer one.
    stream.write(`\r${text.slice(0, width).padEnd(width)}`);
    barShown = true;
    lastDraw = now();
  };

  const timer = tty
    ? undefined
    : setInterval(() => {
        if (!state || !changed) return;
        changed = false;
        stream.write(`jit backtest: ${describe(true)}\n`);
      }, intervalMs);
  timer?.unref();

  return {
    update(done, total, label) {
      if (total !== step.total) step = { total, at: now(), done };
      state = { done, total, label };
      changed = true;
      if (tty && (now() - lastDraw >= redrawMs || done >= total)) draw();
    },
    note(text) {
      if (barShown) stream.write(`\r${' '.repeat(Math.max(40, (stream.columns ?? 80) - 1))}\r`);
      stream.write(`${text}\n`);
      if (barShown && state) draw();
    },
    finish() {
      if (timer) clearInterval(timer);
      if (tty && state) {
        draw();
        stream.write('\n');
      }
      barShown = false;
    },
  };
}
