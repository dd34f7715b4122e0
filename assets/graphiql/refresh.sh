#!/usr/bin/env bash
# Refreshes the vendored GraphiQL playground from the npm registry: the
# released UMD builds of graphiql, of the React it runs on and of the
# graphql-ws client its subscriptions use, with their licences. The server embeds these files (src/http/playground.rs), so the
# playground works with no internet. Change a version below, run this, commit.
set -euo pipefail
GRAPHIQL=3.9.0
REACT=18.3.1
GRAPHQL_WS=6.0.6

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql-ws@$GRAPHQL_WS" >/dev/null
mkdir graphiql react react-dom graphql-ws
tar xzf "graphiql-$GRAPHIQL.tgz" -C graphiql
tar xzf "react-$REACT.tgz" -C react
tar xzf "react-dom-$REACT.tgz" -C react-dom
tar xzf "graphql-ws-$GRAPHQL_WS.tgz" -C graphql-ws
cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$here/"
cp graphiql/package/LICENSE "$here/LICENSE.graphiql"
cp react/package/umd/react.production.min.js "$here/"
cp react/package/LICENSE "$here/LICENSE.react"
cp react-dom/package/umd/react-dom.production.min.js "$here/"
cp react-dom/package/LICENSE "$here/LICENSE.react-dom"
cp graphql-ws/package/umd/graphql-ws.min.js "$here/"
cp graphql-ws/package/LICENSE.md "$here/LICENSE.graphql-ws"
printf 'graphiql %s\nreact %s\nreact-dom %s\ngraphql-ws %s\n' "$GRAPHIQL" "$REACT" "$REACT" "$GRAPHQL_WS" >"$here/VERSIONS"
echo "vendored graphiql $GRAPHIQL, react $REACT, graphql-ws $GRAPHQL_WS into $here"
