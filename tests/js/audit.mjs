// graphql-http's GraphQL over HTTP audit suite against a running server.
// Usage: node audit.mjs http://HOST:PORT/graphql
// Prints one JSON line: { ok, notices, warnings, errors } where the last
// three list { id, name, reason } of every audit that did not pass.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url })) {
  results.push(await audit.fn());
}
const failed = (status) =>
  results
    .filter((r) => r.status === status)
    .map(({ id, name, reason }) => ({ id, name, reason }));
console.log(
  JSON.stringify({
    ok: results.filter((r) => r.status === 'ok').length,
    notices: failed('notice'),
    warnings: failed('warn'),
    errors: failed('error'),
  }),
);
