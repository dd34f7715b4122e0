// Subscribes with the graphql-ws client (the one frontend apps use), then
// creates contacts over HTTP until the subscription reports one. Prints the
// event as JSON. Usage: node graphql-ws-client.mjs HOST:PORT [TOKEN]
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [addr, token] = process.argv.slice(2);
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const name = `From graphql-ws ${Date.now()}`;

const client = createClient({
  url: `ws://${addr}/graphql/ws`,
  webSocketImpl: WebSocket,
  connectionParams: headers,
  retryAttempts: 0,
});
const timer = setTimeout(() => {
  console.error("no event within 20 s");
  process.exit(1);
}, 20_000);

let seen = null;
const event = new Promise((resolve, reject) => {
  client.subscribe(
    { query: "subscription { contactEvents { kind contactId contact { displayName } } }" },
    {
      next: (result) => {
        const e = result.data?.contactEvents;
        if (e?.contact?.displayName === name) resolve(e);
      },
      error: reject,
      complete: () => {},
    },
  );
});
event.then((e) => (seen = e), () => {});

// The subscription goes live asynchronously: keep creating until it reports one.
while (seen === null) {
  const response = await fetch(`http://${addr}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      query: "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
      variables: { i: { displayName: name } },
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  await Promise.race([event, new Promise((r) => setTimeout(r, 300))]);
}
clearTimeout(timer);
console.log(JSON.stringify(await event));
await client.dispose();
process.exit(0);
