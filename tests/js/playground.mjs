// Opens the GraphiQL playground in Debian's Chromium (headless), runs a
// query, and prints the response panel's text and any request that tried to
// leave the server. Saves a screenshot.
// With TOKEN, fills it into the headers editor, which the page opens with
// an Authorization header to complete when the server wants a token.
// Usage: node playground.mjs http://HOST:PORT/graphql SCREENSHOT.png [TOKEN]
import { launch, openPlayground, setEditor, editorText, HEADERS_EDITOR, RESPONSE } from './browser.mjs';

const [url, screenshot, token] = process.argv.slice(2);
const browser = await launch();
try {
  const { page, external, errors } = await openPlayground(browser, url, '{ contacts(first: 1) { totalCount } }');
  if (token) {
    const prefilled = await editorText(page, HEADERS_EDITOR);
    if (!prefilled.includes('Authorization')) throw new Error(`headers editor not prefilled: ${prefilled}`);
    await setEditor(page, HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }));
  }
  await page.click('.graphiql-execute-button');
  try {
    await page.waitForFunction(
      (selector) => document.querySelector(selector)?.CodeMirror.getValue().includes('totalCount'),
      RESPONSE,
      { timeout: 30_000 },
    );
  } catch (e) {
    const shown = await editorText(page, RESPONSE);
    throw new Error(`no result in the response panel: ${shown}; page errors: ${errors}`);
  }
  const result = await editorText(page, RESPONSE);
  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ result: JSON.parse(result), external, errors }));
} finally {
  await browser.close();
}
