// json: every endpoint's served value with its mapping, for scripts and other tools.
import type { ExportInput } from './types.ts';

export interface JsonExport {
  endpoints: {
    name: string;
    servedMs: number | null;
    status: string;
    /** The endpoint's mapping entry, or null when the mapping names it nowhere. */
    route: Record<string, unknown> | null;
  }[];
}

/** Every endpoint the broker lists (mapped or not), in its order; no time stamp, so equal values give equal bytes. */
export function renderJson(input: ExportInput): string {
  const doc: JsonExport = {
    endpoints: input.values.map((v) => ({
      name: v.endpoint,
      servedMs: v.servedMs,
      status: v.status,
      route: (input.mapping.endpoints[v.endpoint] as Record<string, unknown> | undefined) ?? null,
    })),
  };
  // Non-ASCII as \uXXXX escapes (valid JSON): U+2028 and friends cannot surprise a line-based reader.
  const text = JSON.stringify(doc, null, 2).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${text}\n`;
}
