// The dashboard: one HTML page at `/`, its script and style, and uPlot, all served by the broker.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../core/errors.ts';

const require = createRequire(import.meta.url);
const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * Read once at start-up: a missing file fails the broker at once, not a user later. The client is
 * plain JavaScript (checked by TypeScript through JSDoc, see public/tsconfig.json): nothing to
 * build before the broker can serve it.
 */
function loadAssets(): Map<string, Asset> {
  const file = (path: string, type: string): Asset => ({ type, body: readFileSync(path) });
  return new Map([
    ['app.js', file(`${PUBLIC_DIR}app.js`, 'text/javascript; charset=utf-8')],
    ['style.css', file(`${PUBLIC_DIR}style.css`, 'text/css; charset=utf-8')],
    [
      'uPlot.iife.min.js',
      file(require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'),
    ],
    ['uPlot.min.css', file(require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
}

/** Everything from this origin; uPlot sets element styles from script, hence 'unsafe-inline'. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function installDashboard(app: FastifyInstance): void {
  const page = readFileSync(`${PUBLIC_DIR}index.html`);
  const assets = loadAssets();

  app.get('/', (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(page),
  );

  app.get<{ Params: { file: string } }>(
    '/dashboard/:file',
    { schema: { hide: true } },
    (req, reply) => {
      const asset = assets.get(req.params.file);
      if (!asset) throw new NotFoundError('GET', req.url);
      return reply
        .type(asset.type)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(asset.body);
    },
  );
}
