// `jit export`'s configuration: one zod schema with its defaults, and its command-line options next to it.
import { z } from 'zod';
import { httpUrl, type CliOptionTable } from '../core/config.ts';
import { EXPORT_FORMATS } from './types.ts';

export const exportConfigSchema = z
  .object({
    /** The broker whose served values are exported. Default http://127.0.0.1:5000. */
    brokerUrl: httpUrl().default('http://127.0.0.1:5000'),
    /** Output format. Required. */
    format: z.enum(EXPORT_FORMATS),
    /** File written (atomically: temp file + rename). Default: standard output. */
    out: z.string().min(1).optional(),
    /** Mapping file (JSON, docs/export.md). Default none: only `json` has something to write. */
    mapping: z.string().min(1).optional(),
    /** Live objects (`kubectl get httproutes -o json`), for gateway-api and istio. Default none. */
    base: z.array(z.string().min(1)).default([]),
    /** Keep polling the broker and rewrite the output when a value moved more than minChange. Default false. */
    watch: z.boolean().default(false),
    /** Poll interval with --watch. Default 10000 (ms). */
    intervalMs: z.number().int().min(100).max(86_400_000).default(10_000),
    /** Relative change below which a value is not rewritten (0.2: 20 %). Default 0.2. */
    minChange: z.number().min(0).max(100).default(0.2),
    /** Shell command run after each write of --out (e.g. `nginx -s reload`). Default none. */
    onChange: z.string().min(1).optional(),
    /** The broker's read token, sent as a bearer token. Default none. */
    readToken: z.string().min(1).optional(),
    /** Limit for one read of the broker. Default 5000 (ms). */
    requestTimeoutMs: z.number().int().positive().max(600_000).default(5000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.watch && c.out === undefined) {
      ctx.addIssue({ code: 'custom', path: ['watch'], message: '--watch needs --out FILE' });
    }
    if (c.onChange !== undefined && c.out === undefined) {
      ctx.addIssue({ code: 'custom', path: ['onChange'], message: '--on-change needs --out FILE' });
    }
  });
export type ExportConfig = z.infer<typeof exportConfigSchema>;

export const exportCliOptions: CliOptionTable<z.input<typeof exportConfigSchema>> = {
  brokerUrl: {
    flag: '--broker',
    env: 'JIT_BROKER_URL',
    arg: 'url',
    help: 'broker base URL',
    url: true,
  },
  format: {
    env: 'JIT_EXPORT_FORMAT',
    arg: 'format',
    help: EXPORT_FORMATS.join('|'),
    defaultText: 'none, required',
  },
  out: {
    env: 'JIT_EXPORT_OUT',
    arg: 'file',
    help: 'write here (atomically) instead of standard output',
    defaultText: 'stdout',
  },
  mapping: {
    env: 'JIT_EXPORT_MAPPING',
    arg: 'file',
    help: 'mapping file (JSON): endpoint → route, host or upstream per format (docs/export.md)',
    defaultText: 'none',
  },
  base: {
    env: 'JIT_EXPORT_BASE',
    arg: 'files',
    help: 'comma-separated `kubectl get … -o json` files with the live HTTPRoutes / VirtualServices',
    defaultText: 'none',
  },
  watch: { env: 'JIT_EXPORT_WATCH', help: 'keep polling and rewrite --out when a value changes' },
  intervalMs: { env: 'JIT_EXPORT_INTERVAL_MS', unit: 'ms', help: 'poll interval with --watch' },
  minChange: {
    env: 'JIT_EXPORT_MIN_CHANGE',
    arg: 'ratio',
    help: 'relative change a value needs before it is rewritten (0.2 = 20 %)',
  },
  onChange: {
    env: 'JIT_EXPORT_ON_CHANGE',
    arg: 'command',
    help: 'shell command run after each write of --out (e.g. "nginx -s reload")',
    defaultText: 'none',
  },
  readToken: {
    env: 'JIT_READ_TOKEN',
    arg: 'token',
    help: "the broker's read token",
    defaultText: 'none',
    fromFile: true,
  },
  requestTimeoutMs: {
    env: 'JIT_EXPORT_REQUEST_TIMEOUT_MS',
    unit: 'ms',
    help: 'limit for one read of the broker',
  },
};
