// Runs a subscription in the GraphiQL playground (Debian's Chromium,
// headless): once the page's WebSocket has sent its subscribe message, this
// script creates a contact over HTTP, then waits for the event in the
// response panel. With TOKEN, the token goes in the headers editor (the
// page passes it to the WebSocket's connection_init) and on the mutation.
// Prints one JSON line: the response panel's text, requests that tried to
// leave the server, page errors. Usage:
// node playground-subscription.mjs http://HOST:PORT/graphql [TOKEN]
import { launch, openPlayground, setEditor, editorText, HEADERS_EDITOR, RESPONSE } from './browser.mjs';

const [url, token] = process.argv.slice(2);
const browser = await launch();
try {
  const { page, external, errors } = await openPlayground(
    browser,
    url,
    'subscription Watch { contactEvents { kind contact { displayName } } }',
  );
  if (token) {
    await setEditor(page, HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }));
  }
  // Listened for from the socket's first moment (a listener added after
  // awaiting the socket could miss a subscribe sent meanwhile).
  const subscribed = new Promise((resolve) => {
    page.on('websocket', (ws) => {
      ws.on('framesent', (frame) => {
        if (String(frame.payload).includes('"subscribe"')) resolve();
      });
    });
  });
  await page.click('.graphiql-execute-button');
  await Promise.race([
    subscribed,
    new Promise((_, reject) => {
      // unref: a timer still pending would keep this script from exiting.
      setTimeout(() => reject(new Error('no subscribe sent within 30 s')), 30_000).unref();
    }),
  ]);
  // The subscribe message leaves the page before the server has started
  // the subscription: an event committed in between is not this
  // subscription's. So a contact is created each second until the panel
  // shows one (a fixed single create failed under load).
  const create = () =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({
        query: 'mutation { createContact(input: { displayName: "Seen live" }) { id } }',
      }),
    }).then((r) => r.json());
  const deadline = Date.now() + 50_000;
  let created;
  let shown = '';
  for (;;) {
    created = await create();
    try {
      await page.waitForFunction(
        (selector) => document.querySelector(selector)?.CodeMirror.getValue().includes('Seen live'),
        RESPONSE,
        { timeout: 1_000 },
      );
      break;
    } catch (e) {
      if (Date.now() > deadline) break;
    }
  }
  shown = await editorText(page, RESPONSE);
  console.log(JSON.stringify({ shown, created, external, errors }));
} finally {
  await browser.close();
}
