// A page on another origin (http://localhost:PAGE_PORT, served here) calls
// the API in Debian's Chromium (headless) with the headers frontends send:
// Authorization, X-Request-Id, W3C traceparent and baggage, Apollo's client
// name. Prints one JSON line: what the page could read (status, data, the
// exposed X-Request-Id) or the error the browser gave it.
// Usage: node cors.mjs http://127.0.0.1:PORT/graphql PAGE_PORT TOKEN
import http from 'node:http';
import { launch } from './browser.mjs';

const [apiUrl, pagePort, token] = process.argv.slice(2);
const page = `<!doctype html><meta charset="utf-8"><title>frontend</title>`;
const server = http.createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page);
});
await new Promise((resolve) => server.listen(Number(pagePort), '127.0.0.1', resolve));

const browser = await launch();
try {
  const tab = await browser.newPage();
  await tab.goto(`http://localhost:${pagePort}/`);
  const result = await tab.evaluate(
    async ([url, token]) => {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            authorization: `Bearer ${token}`,
            'x-request-id': 'req-from-the-page-1',
            traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            baggage: 'userId=alice',
            'apollographql-client-name': 'web',
          },
          body: JSON.stringify({ query: '{ contacts { totalCount } }' }),
        });
        return {
          origin: location.origin,
          status: response.status,
          requestId: response.headers.get('x-request-id'),
          body: await response.json(),
        };
      } catch (e) {
        return { origin: location.origin, error: String(e) };
      }
    },
    [apiUrl, token],
  );
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  server.close();
}
