// --watch: hysteresis on the served values, atomic writes of the output, and the reload command.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ServedValue } from './types.ts';

/**
 * The values last written, per endpoint. A new value replaces the held one only when it moved by
 * more than `minChange` of it (|new − held| / held > minChange), so a proxy is not rewritten and
 * reloaded for a wiggle; slow drift still gets through once it adds up to more than that, because
 * it is measured against the value written, not the previous poll. An endpoint that appears,
 * disappears, or gets or loses a value always counts as a change.
 */
export class Hysteresis {
  private held = new Map<string, number | null>();
  private primed = false;

  constructor(private readonly minChange: number) {}

  /** The values to write (held ones where the move is small) and the changes that justify a write. */
  apply(values: readonly ServedValue[]): { values: ServedValue[]; changes: string[] } {
    const changes: string[] = [];
    const next = new Map<string, number | null>();
    const out = values.map((v): ServedValue => {
      const had = this.held.has(v.endpoint);
      const old = this.held.get(v.endpoint) ?? null;
      let keep: number | null = v.servedMs;
      if (!had) {
        if (this.primed) changes.push(`${JSON.stringify(v.endpoint)} added`);
      } else if (old === null || v.servedMs === null) {
        if (old !== v.servedMs)
          changes.push(
            `${JSON.stringify(v.endpoint)} ${old ?? 'none'} → ${v.servedMs ?? 'none'} ms`,
          );
      } else if (Math.abs(v.servedMs - old) / old > this.minChange) {
        changes.push(`${JSON.stringify(v.endpoint)} ${old} → ${v.servedMs} ms`);
      } else {
        keep = old;
      }
      next.set(v.endpoint, keep);
      return { ...v, servedMs: keep };
    });
    for (const name of this.held.keys()) {
      if (!next.has(name)) changes.push(`${JSON.stringify(name)} removed`);
    }
    if (!this.primed) changes.push('first values');
    this.primed = true;
    this.held = next;
    return { values: out, changes };
  }
}

/**
 * Writes `text` to `file` so that a reader sees the old file or the new one, never a part:
 * a temporary file in the same directory (same file system), flushed to disk, then renamed
 * over the target.
 */
export function writeAtomic(file: string, text: string): void {
  const tmp = join(
    dirname(file),
    `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The file's text, or undefined when it cannot be read (absent). */
export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Runs `command` through /bin/sh with the output on ours; resolves its exit code (or the signal as 128 + n). */
export function runCommand(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
