// Real GraphQL clients against a running server, as frontend apps use them:
// urql with its default options (queries over GET), graphql-request in GET
// mode, Apollo Client with PersistedQueryLink (a hash alone first, then
// registration with the text, then the hash alone again) over GET, and
// Apollo's BatchHttpLink. Every request each client sends is recorded
// through its fetch, so the test sees how it was sent.
// Usage: node clients.mjs http://HOST:PORT/graphql TOKEN
// Prints one JSON line with each client's results and requests.
import { createHash } from 'node:crypto';
import { Client, fetchExchange, gql as urqlGql } from '@urql/core';
import { GraphQLClient } from 'graphql-request';
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { BatchHttpLink } from '@apollo/client/link/batch-http';

const [url, token] = process.argv.slice(2);
const authorization = `Bearer ${token}`;

/** A fetch that records each request's method, URL query and body. */
function recording(log) {
  return async (input, init = {}) => {
    const target = new URL(input instanceof Request ? input.url : String(input));
    log.push({
      method: init.method ?? 'GET',
      query: Object.fromEntries(target.searchParams),
      body: init.body ? JSON.parse(init.body) : null,
    });
    return fetch(input, init);
  };
}

const out = {};

// urql, default options: queries within the URL limit go as GET.
{
  const requests = [];
  const client = new Client({
    url,
    exchanges: [fetchExchange],
    fetch: recording(requests),
    fetchOptions: { headers: { authorization } },
  });
  const created = await client
    .mutation(
      urqlGql`mutation Create($input: CreateContactInput!) { createContact(input: $input) { id displayName } }`,
      { input: { displayName: 'From urql', via: [{ source: 'email', handle: 'urql@example.org' }] } },
    )
    .toPromise();
  const found = await client
    .query(urqlGql`query One($id: ID!) { contact(id: $id) { displayName via { handle } } }`, {
      id: created.data?.createContact?.id,
    })
    .toPromise();
  out.urql = {
    created: created.data?.createContact ?? null,
    createdError: created.error?.message ?? null,
    found: found.data?.contact ?? null,
    foundError: found.error?.message ?? null,
    methods: requests.map((r) => r.method),
  };
}

// graphql-request in GET mode.
{
  const requests = [];
  const client = new GraphQLClient(url, {
    method: 'GET',
    headers: { authorization },
    fetch: recording(requests),
  });
  const data = await client.request(
    'query Count($filter: ContactFilter) { contacts(filter: $filter) { totalCount } }',
    { filter: { search: 'urql' } },
  );
  out.graphqlRequest = { data, methods: requests.map((r) => r.method) };
}

// Apollo Client: automatic persisted queries, hashes sent over GET.
{
  const requests = [];
  const sha256 = (text) => createHash('sha256').update(text).digest('hex');
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
    new HttpLink({ uri: url, headers: { authorization }, fetch: recording(requests) }),
  );
  const query = gql`
    query Types {
      contactTypes {
        value
        display
      }
    }
  `;
  const first = await new ApolloClient({ link, cache: new InMemoryCache() }).query({ query });
  // A second client (an empty cache) sends the hash alone again.
  const second = await new ApolloClient({ link, cache: new InMemoryCache() }).query({ query });
  out.apollo = {
    first: first.data,
    second: second.data,
    requests: requests.map((r) => ({
      method: r.method,
      hasQuery: Boolean(r.query.query || r.body?.query),
      hasHash: Boolean(r.query.extensions || r.body?.extensions?.persistedQuery),
    })),
  };
}

// Apollo's BatchHttpLink: two queries in one POST.
{
  const requests = [];
  const client = new ApolloClient({
    link: new BatchHttpLink({
      uri: url,
      headers: { authorization },
      batchMax: 5,
      batchInterval: 20,
      fetch: recording(requests),
    }),
    cache: new InMemoryCache(),
  });
  const [count, types] = await Promise.all([
    client.query({ query: gql`query BatchCount { contacts { totalCount } }` }),
    client.query({ query: gql`query BatchTypes { contactTypes { value } }` }),
  ]);
  out.batch = {
    count: count.data,
    types: types.data,
    bodies: requests.map((r) => (Array.isArray(r.body) ? r.body.length : 'single')),
  };
}

console.log(JSON.stringify(out));
