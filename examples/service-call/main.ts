// Example: a "frontend" service calling a "customer" service with JustInTimeout's timeouts.
//
//   npm start                                          # terminal 1: demo broker on :5000
//   node --import tsx examples/service-call/main.ts    # terminal 2
//   curl 'http://127.0.0.1:8080/dispatch?customer=392'
//
// JIT_BROKER_URL (default http://127.0.0.1:5000) and JIT_READ_TOKEN (when the broker has one)
// configure the client; the demo broker computes `customer` from sample data.
import { pathToFileURL } from 'node:url';
import { createTimeoutClient } from 'justintimeout/client';
import { startCustomerService } from './customer-service.ts';
import { startFrontend } from './frontend.ts';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const timeouts = createTimeoutClient({
    brokerUrl: process.env.JIT_BROKER_URL ?? 'http://127.0.0.1:5000',
    token: process.env.JIT_READ_TOKEN,
    refreshMs: 5000,
    // Until the broker has computed "customer": the customer service's slow tail (20 × a 30 ms
    // median) takes up to ~1.5 s, which the broker's default of 100 ms would cut.
    fallbackMs: 2000,
  });
  // Wait for the first values (at most the refresh request's own timeout), then serve.
  const warm = await timeouts.ready();
  const customer = await startCustomerService({ port: 8081 });
  const frontend = await startFrontend({ timeouts, customerUrl: customer.url, port: 8080 });
  process.stdout.write(
    `customer service on ${customer.url}, frontend on ${frontend.url}\n` +
      `timeout for "customer": ${timeouts.timeoutFor('customer')} ms` +
      `${warm ? '' : ' (fallback: the broker did not answer yet)'}\n` +
      `try: curl '${frontend.url}/dispatch?customer=392'\n`,
  );
  const stop = () => {
    timeouts.close();
    void Promise.all([frontend.close(), customer.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
