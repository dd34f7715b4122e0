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
    <script>
      const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher,
          shouldPersistHeaders: false,
          /*HEADERS*/
        }),
      );
    </script>
  </body>
</html>
"#;
