// Shared by the benchmarks: numeric `--name value` options and the median of runs.

/** The number after `--name` in `argv`, or `def` when the option is absent. */
export function numberOption(argv: readonly string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(argv[i + 1]);
}

/** The median of the runs (the upper one of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
}
