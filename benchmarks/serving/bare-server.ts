// The baseline for the serving benchmark: a bare Fastify route answering a constant, nothing else.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/constant', (_req, reply) => reply.type('text/plain; charset=utf-8').send('4887'));
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(
  `listening on http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`,
);
