// Runs a subscription in the GraphiQL playground (Debian's Chromium,
// headless): once the page's WebSocket has sent its subscribe message, this
// script creates a contact over HTTP, then waits for the event in the
// response panel. With TOKEN, the token goes in the headers editor (the
// page passes it to the WebSocket's connection_init) and on the mutation.
// Prints one JSON line: the response panel's text, requests that tried to
// leave the server, page errors. Usage:
// node playground-subscription.mjs http://HOST:PORT/graphql [TOKEN]
import { chromium } from 'playwright-core';

const [url, token] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const external = [];
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(origin)) return route.continue();
    external.push(target);
    return route.abort();
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  const editor = '.graphiql-query-editor .CodeMirror';
  await page.waitForSelector(editor, { timeout: 30_000 });
  await page.evaluate(
    ([selector, query]) => document.querySelector(selector).CodeMirror.setValue(query),
    [editor, 'subscription Watch { contactEvents { kind contact { displayName } } }'],
  );
  if (token) {
    const headers = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
    await page.evaluate(
      ([selector, value]) => document.querySelector(selector).CodeMirror.setValue(value),
      [headers, JSON.stringify({ Authorization: `Bearer ${token}` })],
    );
  }
  // GraphiQL re-reads the document a moment after an edit.
  await page.waitForTimeout(600);
  const socket = page.waitForEvent('websocket', { timeout: 30_000 });
  await page.click('.graphiql-execute-button');
  const ws = await socket;
  await ws.waitForEvent('framesent', {
    predicate: (frame) => String(frame.payload).includes('"subscribe"'),
    timeout: 30_000,
  });
  const created = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      query: 'mutation { createContact(input: { displayName: "Seen live" }) { id } }',
    }),
  }).then((r) => r.json());
  const response = '.graphiql-response .CodeMirror';
  let shown = '';
  try {
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.CodeMirror.getValue().includes('Seen live'),
      response,
      { timeout: 30_000 },
    );
  } finally {
    shown = await page.evaluate((s) => document.querySelector(s)?.CodeMirror.getValue() ?? '', response);
  }
  console.log(JSON.stringify({ shown, created, external, errors }));
} finally {
  await browser.close();
}
