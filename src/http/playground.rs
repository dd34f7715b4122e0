//! The GraphiQL playground, served from files built into the binary
//! (assets/graphiql, refreshed by its refresh.sh): it works with no internet.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;

/// (file name, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "graphql-ws.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphql-ws.min.js"),
    ),
    (
        "LICENSE.graphql-ws",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.graphql-ws"),
    ),
    (
        "LICENSE.graphiql",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.graphiql"),
    ),
    (
        "LICENSE.react",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/graphiql/LICENSE.react"),
    ),
];

/// GET /graphql/assets/{file}.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The playground page. When the server wants a token, the headers editor
/// opens with an Authorization header to fill in.
pub async fn page(state: &AppState) -> Response {
    let needs_token = !matches!(state.auth.open_mode().await, Ok(true));
    let headers_setup = if needs_token {
        r#"defaultEditorToolsVisibility: "headers",
      defaultHeaders: '{\n  "Authorization": "Bearer PASTE_YOUR_TOKEN"\n}',"#
    } else {
        ""
    };
    Html(PAGE.replace("/*HEADERS*/", headers_setup)).into_response()
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>contacts-api playground</title>
    <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
    <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
  </head>
  <body>
    <div id="graphiql">Loading the playground…</div>
    <script src="/graphql/assets/react.production.min.js"></script>
    <script src="/graphql/assets/react-dom.production.min.js"></script>
    <script src="/graphql/assets/graphiql.min.js"></script>
    <script src="/graphql/assets/graphql-ws.min.js"></script>
    <script>
      // Queries and mutations go over HTTP; subscriptions over the
      // graphql-transport-ws WebSocket, which takes the headers editor's
      // Authorization in its connection_init payload (browsers cannot set
      // headers on a WebSocket).
      let headers = {};
      const wsUrl = location.origin.replace(/^http/, "ws") + "/graphql/ws";
      const wsClient = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: () => headers,
      });
      const inner = GraphiQL.createFetcher({ url: "/graphql", wsClient });
      const fetcher = (params, options) => {
        headers = (options && options.headers) || {};
        return inner(params, options);
      };
      const example = `# contacts-api playground: run an operation with the button above.
# Docs (the book icon) describe every type, field and argument.

query Contacts {
  contacts(first: 10, orderBy: { field: UPDATED_AT, direction: DESC }) {
    totalCount
    edges { node { id displayName via { source handle } groupNames } }
    pageInfo { hasNextPage endCursor }
  }
}

mutation CreateContact {
  createContact(input: {
    displayName: "Ada Lovelace"
    via: [{ source: "email", handle: "ada@example.org" }]
    groupNames: ["friends"]
  }) { id displayName }
}

# Runs until stopped: make a change in another tab to see its event.
subscription ContactEvents {
  contactEvents { kind cursor contactId contact { displayName } }
}
`;
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          // /graphql?query=... opens on that document (a link to share).
          defaultQuery: new URLSearchParams(location.search).get("query") ?? example,
          shouldPersistHeaders: false,
          /*HEADERS*/
        }),
      );
    </script>
  </body>
</html>
"#;
