#!/usr/bin/env python3
"""contacts-api side by side with PostGraphile v4 and pgbench.

One command (see bench/README.md):

    python3 bench/run.py

1. builds the release binary; installs wrk (apt) and PostGraphile (npm ci in
   bench/peer) when missing;
2. loads the data set (bench/datagen.py, 200,000 contacts) through
   importContacts in batches of 10,000 into a fresh PostgreSQL database and a
   fresh SQLite file, timing each, and times PostgreSQL's own COPY of the same
   rows into empty copies of the tables (indexes included);
3. for each case Q1-Q5, M1, M2 runs wrk (32 connections, warm-up, then 15 s)
   against contacts-api on PostgreSQL, PostGraphile on the same database,
   contacts-api on SQLite, and pgbench with the SQL contacts-api sends
   (prepared statements, 32 clients) as the ceiling;
4. prints the tables and writes them to bench/results/latest.md.

Peak RSS is the server's VmHWM, reset before each case (/proc/PID/clear_refs).
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PEER = os.path.join(BENCH, "peer")
SQL = os.path.join(BENCH, "sql")

# BENCH_PORT moves all three (another server may hold the defaults).
_BASE_PORT = int(os.environ.get("BENCH_PORT", "18080"))
API_PORT, SQLITE_PORT, PEER_PORT = _BASE_PORT, _BASE_PORT + 1, _BASE_PORT + 2

IMPORT = ("mutation($i: ImportContactsInput!) { importContacts(input: $i) "
          "{ createdCount errors { index message } } }")

# Substrings of the generator's names: some common, some rare.
SEARCHES = ("ller", "anse", "olsen", "kumar", "yamam", "rossi", "ana ", "mart", "ito", "zieg")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------- tools

def ensure_tools(args):
    if not shutil.which("wrk"):
        log("installing wrk (apt-get)")
        sh(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL)
    if not shutil.which("pgbench"):
        sys.exit("pgbench not found (Debian: postgresql-client)")
    if not args.no_peer:
        stamp = os.path.join(PEER, "node_modules", ".package-lock.json")
        lock = os.path.join(PEER, "package-lock.json")
        if not os.path.exists(stamp) or os.path.getmtime(stamp) < os.path.getmtime(lock):
            log("installing PostGraphile (npm ci in bench/peer)")
            sh(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEER)
    if not args.no_build:
        log("building contacts-api (cargo build --release --locked)")
        sh(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT)


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "contacts-api")


# ---------------------------------------------------------------- processes

def rss_reset(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def rss_peak_mib(pid):
    """Peak RSS of pid and its children (PostGraphile runs under node)."""
    total = 0
    for p in [pid] + children(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def wait_http(url, proc, what):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"{what} did not start")


def start_api(database_url, port, pool):
    env = dict(os.environ, DATABASE_URL=database_url, CONTACTS_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn")
    if pool:
        env["CONTACTS_DB_POOL_SIZE"] = str(pool)
    proc = subprocess.Popen([binary(), "serve"], env=env)
    wait_http(f"http://127.0.0.1:{port}/readyz", proc, "contacts-api")
    return proc


def start_peer(pg_url, port):
    cli = os.path.join(PEER, "node_modules", ".bin", "postgraphile")
    proc = subprocess.Popen(
        [cli, "--connection", pg_url, "--schema", "public", "--port", str(port), "--host", "127.0.0.1",
         "--disable-query-log", "--legacy-relations", "omit"],
        cwd=PEER, stdout=subprocess.DEVNULL, env=dict(os.environ, NODE_ENV="production"))
    wait_http(f"http://127.0.0.1:{port}/graphiql", proc, "PostGraphile")
    return proc


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def post(port, query, variables=None, path="/graphql"):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.loads(r.read())
    if out.get("errors"):
        sys.exit(f"port {port}: {json.dumps(out['errors'])[:500]}\nquery: {query[:300]}")
    return out["data"]


# ---------------------------------------------------------------- databases

def psql(url, sql, db=None):
    target = url if db is None else f"{url}/{db}"
    return subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", target, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def fresh_pg(pg_url, name):
    psql(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", "postgres")
    psql(pg_url, f"CREATE DATABASE {name}", "postgres")
    # Loopback: no TLS for any of the three clients (sqlx and libpq would
    # otherwise negotiate it with Debian's default ssl = on; node-pg would not).
    return f"{pg_url}/{name}?sslmode=disable"


def load(port, contacts, batch, clients):
    """Posts the data set through importContacts, `clients` batches in flight
    at a time (as a bulk loader would); returns seconds spent."""
    bodies = [json.dumps({"query": IMPORT, "variables": {"i": {"contacts": rows}}}).encode()
              for rows in datagen.batches(0, contacts, batch)]

    def post_batch(body):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body,
                                     {"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            out = json.loads(r.read())
        if out.get("errors") or out["data"]["importContacts"]["errors"]:
            sys.exit(f"import failed: {json.dumps(out)[:800]}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(post_batch, bodies))
    return time.perf_counter() - started


COPY_TABLES = ("contacts", "contact_groups", "contact_handles", "contact_metadata",
               "contact_group_members", "conversations")


def settle(db_url):
    """Vacuums and checkpoints, then waits for autovacuum workers to finish."""
    psql(db_url, "VACUUM ANALYZE")
    psql(db_url, "CHECKPOINT")
    for _ in range(300):
        busy = psql(db_url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
        if busy == "0":
            return
        time.sleep(1)


def copy_speed(db_url, contacts):
    """Seconds PostgreSQL's COPY takes to load the rows the import wrote into
    empty copies of the tables (same columns, indexes and constraints)."""
    with tempfile.TemporaryDirectory() as tmp:
        for t in COPY_TABLES:
            psql(db_url, f"\\copy {t} TO '{tmp}/{t}.bin' WITH (FORMAT binary)")
        setup = ["DROP SCHEMA IF EXISTS copy_bench CASCADE", "CREATE SCHEMA copy_bench"]
        setup += [f"CREATE TABLE copy_bench.{t} (LIKE public.{t} INCLUDING ALL)" for t in COPY_TABLES]
        psql(db_url, "; ".join(setup))
        script = "BEGIN;\n" + "".join(
            f"\\copy copy_bench.{t} FROM '{tmp}/{t}.bin' WITH (FORMAT binary)\n" for t in COPY_TABLES
        ) + "COMMIT;\n"
        path = os.path.join(tmp, "copy.sql")
        with open(path, "w") as f:
            f.write(script)
        started = time.perf_counter()
        sh(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_url, "-f", path], stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        psql(db_url, "DROP SCHEMA copy_bench CASCADE")
    return seconds


# ---------------------------------------------------------------- cases

Q_PAGE = ("query($after: String) { contacts(first: 50, after: $after, orderBy: {field: CREATED_AT, direction: ASC}) "
          "{ nodes { id displayName via { source handle } } pageInfo { hasNextPage endCursor } } }")
Q_ONE = ("query($id: ID!) { contact(id: $id) { id displayName via { source handle } metadata "
         "conversations { id channel createdAt } } }")
Q_SEARCH = "query($q: String!) { contacts(first: 20, filter: {search: $q}) { nodes { id displayName } } }"
Q_HANDLE = ("query($h: HandleInput!) { contact(handle: $h) { id displayName via { source handle } metadata "
            "conversations { id channel createdAt } } }")

P_PAGE = ("query($after: Cursor) { allContacts(first: 50, after: $after, orderBy: [CREATED_AT_ASC, ID_ASC]) "
          "{ nodes { id displayName contactHandlesByContactId(orderBy: POSITION_ASC) { nodes { source handle } } } "
          "pageInfo { hasNextPage endCursor } } }")
P_ONE = ("query($id: UUID!) { contactById(id: $id) { id displayName "
         "contactHandlesByContactId(orderBy: POSITION_ASC) { nodes { source handle } } "
         "contactMetadataByContactId { nodes { key value } } "
         "conversationsByContactId { nodes { id channel createdAt } } } }")


ERRORS_LUA = """
local threads = {}
errors = 0
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if errors == 1 then io.stderr:write(body:sub(1, 400) .. "\\n") end
  end
end
done = function(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("errors") end
  io.write("GraphQL errors: " .. total .. "\\n")
end
"""


def lua_string(s):
    return "[==[" + s + "]==]"


def static_lua(bodies):
    """A wrk script posting the given JSON bodies in turn."""
    items = ",\n".join(lua_string(b) for b in bodies)
    return f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {{
{items}
}}
local n, i = #bodies, 0
request = function()
  i = i % n + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
""" + ERRORS_LUA


# Mutation scripts number their rows: thread t of run r writes rows
# base + t * 10^6 + n (wrk's two threads), so no two requests of any run share a handle.
MUTATION_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local AREAS = {{{areas}}}
local PER_AREA = {per_area}
local base = {base}
local n = 0
local function phone(k)
  local area = AREAS[math.floor(k / PER_AREA) + 1]
  local rest = k % PER_AREA
  return string.format("+1 (%d) %03d-%04d", area, 200 + math.floor(rest / 10000), rest % 10000)
end
local function next_key()
  n = n + 1
  return base + tid * 1000000 + n
end
{body}
""" + ERRORS_LUA.replace("{", "{{").replace("}", "}}")

API_M1 = """request = function()
  local k = next_key()
  local body = string.format('{{"query":"mutation($i: CreateContactInput!) {{ createContact(input: $i) {{ id }} }}",'
    .. '"variables":{{"i":{{"displayName":"Bench %d","via":[{{"source":"email","handle":"m1-%d@bench.test"}},'
    .. '{{"source":"phone","handle":"%s"}}]}}}}}}', k, k, phone(k))
  return wrk.format(nil, nil, nil, body)
end"""

API_M2 = """local TIERS = {{"gold", "silver", "bronze"}}
request = function()
  local rows = {{}}
  for r = 1, {rows} do
    local k = next_key()
    rows[r] = string.format('{{"displayName":"Import %d","via":[{{"source":"email","handle":"m2-%d@bench.test"}},'
      .. '{{"source":"phone","handle":"%s"}}],"metadata":{{"crm_id":"M%d","tier":"%s","score":%d}},'
      .. '"groupNames":["segment-%02d"]}}', k, k, phone(k), k, TIERS[k % 3 + 1], k % 100, k % 20)
  end
  local body = '{{"query":"mutation($i: ImportContactsInput!) {{ importContacts(input: $i) {{ createdCount }} }}",'
    .. '"variables":{{"i":{{"contacts":[' .. table.concat(rows, ",") .. ']}}}}}}'
  return wrk.format(nil, nil, nil, body)
end"""

# PostGraphile has no nested writes without plugins: the contact and its two
# handles are three mutations of one document, which it runs in one
# transaction, with ids chosen by the client.
PEER_M1 = """local function uuid(k, part)
  return string.format("00000000-0000-4000-8%03d-%012x", part, k)
end
request = function()
  local k = next_key()
  local id = uuid(k, 0)
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local body = string.format('{{"query":"mutation {{ '
    .. 'c: createContact(input: {{contact: {{id: \\\\"%s\\\\", displayName: \\\\"Bench %d\\\\", sortName: \\\\"bench %d\\\\", '
    .. 'contactType: \\\\"contact\\\\", isSpammer: false, links: \\\\"[]\\\\", createdAt: \\\\"%s\\\\", updatedAt: \\\\"%s\\\\"}}}}) {{ contact {{ id }} }} '
    .. 'e: createContactHandle(input: {{contactHandle: {{id: \\\\"%s\\\\", contactId: \\\\"%s\\\\", source: \\\\"email\\\\", '
    .. 'handle: \\\\"m1-%d@bench.test\\\\", searchKey: \\\\"m1-%d@bench.test\\\\", position: 0}}}}) {{ clientMutationId }} '
    .. 'p: createContactHandle(input: {{contactHandle: {{id: \\\\"%s\\\\", contactId: \\\\"%s\\\\", source: \\\\"phone\\\\", '
    .. 'handle: \\\\"%s\\\\", searchKey: \\\\"%s\\\\", position: 1}}}}) {{ clientMutationId }} }}"}}',
    id, k, k, now, now, uuid(k, 1), id, k, k, uuid(k, 2), id, phone(k), phone(k))
  return wrk.format(nil, nil, nil, body)
end"""


class Keys:
    """Row numbers for mutation scripts, disjoint from the data set's phones."""

    def __init__(self):
        self.next = datagen.PER_AREA  # area code 212 onwards

    def take(self):
        base = self.next
        self.next += 2 * 1000000
        return base


def mutation_lua(body, keys):
    return MUTATION_LUA.format(areas=", ".join(str(a) for a in datagen.AREA_CODES),
                               per_area=datagen.PER_AREA, base=keys.take(), body=body)


def body(query, variables=None):
    return json.dumps({"query": query, "variables": variables or {}})


# ---------------------------------------------------------------- load

def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url, script, seconds, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        run = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "--timeout", "60s", "-s", path, url], capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"wrk failed:\n{run.stdout}\n{run.stderr}")
        out = run.stdout
    finally:
        os.unlink(path)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = parse_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = parse_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    failed = int(re.search(r"GraphQL errors: (\d+)", out).group(1))
    if failed:
        sys.exit(f"{failed} responses with errors from {url}; the first:\n{run.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        log(f"  warning: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}")
    return {"rps": rps, "p50": p50, "p99": p99}


def measure(name, url, script, proc, args):
    wrk(url, script(), args.warmup, args.concurrency)
    rss_reset(proc.pid)
    result = wrk(url, script(), args.duration, args.concurrency)
    result["rss"] = rss_peak_mib(proc.pid)
    log(f"  {name}: {result['rps']:.1f} req/s, p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms, "
        f"peak RSS {result['rss']:.1f} MiB")
    return result


def pgbench(db_url, script, seconds, clients, defines):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
               "-f", os.path.join(SQL, script), "-l", "--log-prefix", os.path.join(tmp, "tx")]
        for k, v in defines.items():
            cmd += ["-D", f"{k}={v}"]
        out = subprocess.run(cmd + [db_url], check=True, capture_output=True, text=True).stdout
        latencies = []
        for fn in os.listdir(tmp):
            with open(os.path.join(tmp, fn)) as f:
                latencies += [int(line.split()[2]) / 1000 for line in f]
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latencies.sort()
    return {"rps": tps, "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99)], "rss": None}


def measure_pgbench(name, db_url, script, args, defines):
    pgbench(db_url, script, args.warmup, args.concurrency, defines)
    result = pgbench(db_url, script, args.duration, args.concurrency, defines)
    log(f"  {name}: {result['rps']:.0f} tx/s, p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms")
    return result


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--import-clients", type=int, default=2,
                    help="batches in flight while loading (the server runs one large request per core)")
    ap.add_argument("--duration", type=int, default=15, help="seconds measured per case")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per case")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--pool", type=int, default=None,
                    help="contacts-api --db-pool-size (default: the server's own, 2 per core + 1)")
    ap.add_argument("--depth", type=int, default=150_000, help="Q3's cursor depth")
    ap.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-peer", action="store_true", help="skip PostGraphile")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--cases", default="Q1,Q2,Q3,Q4,Q5,M1,M2")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "latest.md"))
    args = ap.parse_args()
    cases = args.cases.split(",")
    ensure_tools(args)
    if args.depth + 50 > args.contacts:
        sys.exit("--depth must be below --contacts")

    results = {}  # (case, target) -> result
    imports = {}
    keys = Keys()
    procs = []
    try:
        # ---- PostgreSQL: load, COPY, then queries against the three targets.
        db_url = fresh_pg(args.pg_url, "contacts_bench")
        load_on_own_server("PostgreSQL", db_url, API_PORT, args, imports, procs)
        settle(db_url)
        seconds = copy_speed(db_url, args.contacts)
        imports["PostgreSQL COPY (same rows)"] = (args.contacts / seconds, seconds, None)
        sample = prepare_inputs(db_url, args)
        api = start_api(db_url, API_PORT, args.pool)
        procs.append(api)

        peer = None
        if not args.no_peer:
            peer = start_peer(db_url, PEER_PORT)
            procs.append(peer)
            sample["peer_cursor"] = post(PEER_PORT, P_PAGE.replace("first: 50", f"first: 1, offset: {args.depth - 1}"))[
                "allContacts"]["pageInfo"]["endCursor"]
        sample["api_cursor"] = walk_cursor(API_PORT, args.depth)

        for case in cases:
            log(f"{case} on PostgreSQL")
            api_script, peer_script, sql = scripts(case, sample, keys)
            results[(case, "api")] = measure("contacts-api", f"http://127.0.0.1:{API_PORT}/graphql",
                                             api_script, api, args)
            if peer and peer_script:
                results[(case, "peer")] = measure("PostGraphile", f"http://127.0.0.1:{PEER_PORT}/graphql",
                                                  peer_script, peer, args)
            if sql:
                results[(case, "pgbench")] = measure_pgbench("pgbench", db_url, sql[0], args, sql[1])
                single = sql[0].replace(".sql", "_json.sql")
                if os.path.exists(os.path.join(SQL, single)):
                    results[(case, "pgjson")] = measure_pgbench("pgbench, one JSON query", db_url, single,
                                                                args, sql[1])
            if case == "Q4":
                results[(case, "seqscan")] = measure_pgbench(
                    "pgbench, sequential scan", db_url, "q4_seqscan.sql", args, sql[1])
        for p in (api, peer):
            stop(p)
        # The mutations left PostgreSQL work to do (autovacuum of hundreds of
        # thousands of new rows); done now, it does not run beside SQLite's turn.
        settle(db_url)

        # ---- SQLite: the same data through the same import, then the same cases.
        if not args.no_sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite://{tmp}/bench.db?mode=rwc"
                load_on_own_server("SQLite", url, SQLITE_PORT, args, imports, procs)
                lite = start_api(url, SQLITE_PORT, args.pool)
                procs.append(lite)
                sample["api_cursor"] = walk_cursor(SQLITE_PORT, args.depth)
                lite_sample = dict(sample, ids=sqlite_ids(SQLITE_PORT, sample))
                for case in cases:
                    log(f"{case} on SQLite")
                    api_script = scripts(case, lite_sample, keys)[0]
                    results[(case, "sqlite")] = measure("contacts-api", f"http://127.0.0.1:{SQLITE_PORT}/graphql",
                                                        api_script, lite, args)
                stop(lite)
    finally:
        for p in procs:
            stop(p)

    report = render(results, imports, cases, args)
    print(report)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(report)
    log(f"written to {os.path.relpath(args.out, ROOT)}")


def load_on_own_server(name, database_url, port, args, imports, procs):
    """Loads the data set through importContacts and records the rate and the
    server's peak RSS. The server is stopped afterwards: the cases get a fresh
    one, or the load's 10,000-row requests would set every case's peak RSS."""
    api = start_api(database_url, port, args.pool)
    procs.append(api)
    log(f"loading {args.contacts:,} contacts into {name} through importContacts")
    rss_reset(api.pid)
    seconds = load(port, args.contacts, args.batch, args.import_clients)
    imports[f"{name} importContacts"] = (args.contacts / seconds, seconds, rss_peak_mib(api.pid))
    stop(api)


def prepare_inputs(db_url, args):
    """Ids, phones and searches the cases draw from, the same for every target."""
    rows = psql(db_url, "SELECT c.id, h.handle FROM contacts c JOIN contact_handles h ON h.contact_id = c.id "
                        "AND h.source = 'phone' ORDER BY md5(c.id::text) LIMIT 1000")
    pairs = [line.split("|") for line in rows.splitlines()]
    psql(db_url, "DROP TABLE IF EXISTS bench_ids; CREATE TABLE bench_ids (n int PRIMARY KEY, id uuid NOT NULL, "
                 "phone text NOT NULL); " + "INSERT INTO bench_ids VALUES " + ", ".join(
                     f"({n}, '{cid}', '{phone}')" for n, (cid, phone) in enumerate(pairs, 1)))
    first = psql(db_url, "SELECT string_agg(id::text, ',' ORDER BY created_at, id) FROM "
                         "(SELECT id, created_at FROM contacts ORDER BY created_at, id LIMIT 50) t")
    after_at, after_id = psql(db_url, "SELECT created_at::text || '|' || id FROM contacts ORDER BY created_at, id "
                                      f"OFFSET {args.depth - 1} LIMIT 1").split("|")
    deep = psql(db_url, "SELECT string_agg(id::text, ',' ORDER BY created_at, id) FROM (SELECT id, created_at "
                        f"FROM contacts ORDER BY created_at, id OFFSET {args.depth} LIMIT 50) t")
    return {"ids": [cid for cid, _ in pairs], "phones": [phone for _, phone in pairs],
            "q1": {"page_ids": "{" + first + "}"},
            "q3": {"page_ids": "{" + deep + "}", "after_at": after_at, "after_id": after_id}}


def sqlite_ids(port, sample):
    """The SQLite database has its own ids: the same contacts, found by phone."""
    ids = []
    for phone in sample["phones"][:200]:
        ids.append(post(port, Q_HANDLE, {"h": {"source": "phone", "handle": phone}})["contact"]["id"])
    return ids


def walk_cursor(port, depth):
    """The cursor after `depth` rows, reached by paging as a client would."""
    query = ("query($after: String) { contacts(first: 100, after: $after, orderBy: {field: CREATED_AT, "
             "direction: ASC}) { pageInfo { endCursor } } }")
    cursor = None
    for _ in range(depth // 100):
        cursor = post(port, query, {"after": cursor})["contacts"]["pageInfo"]["endCursor"]
    return cursor


def formatted(phone):
    """+16172001234 -> (617) 200-1234: a format the data set never stores."""
    return f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"


def scripts(case, s, keys):
    """(contacts-api wrk script, PostGraphile wrk script or None, (pgbench file, defines) or None)."""
    if case == "Q1":
        return (lambda: static_lua([body(Q_PAGE)]), lambda: static_lua([body(P_PAGE)]), ("q1.sql", s["q1"]))
    if case == "Q2":
        return (lambda: static_lua([body(Q_ONE, {"id": i}) for i in s["ids"]]),
                lambda: static_lua([body(P_ONE, {"id": i}) for i in s["ids"]]),
                ("q2.sql", {"ids": len(s["ids"])}))
    if case == "Q3":
        return (lambda: static_lua([body(Q_PAGE, {"after": s["api_cursor"]})]),
                lambda: static_lua([body(P_PAGE, {"after": s.get("peer_cursor")})]),
                ("q3.sql", s["q3"]))
    if case == "Q4":
        return (lambda: static_lua([body(Q_SEARCH, {"q": q}) for q in SEARCHES]), None,
                ("q4.sql", {}))
    if case == "Q5":
        return (lambda: static_lua([body(Q_HANDLE, {"h": {"source": "phone", "handle": formatted(p)}})
                                    for p in s["phones"]]), None, ("q5.sql", {"ids": len(s["phones"])}))
    if case == "M1":
        return (lambda: mutation_lua(API_M1.format(), keys), lambda: mutation_lua(PEER_M1.format(), keys), None)
    if case == "M2":
        return (lambda: mutation_lua(API_M2.format(rows=1000), keys), None, None)
    raise SystemExit(f"unknown case {case}")


CASE_TITLES = {
    "Q1": "Q1 first page of 50 by createdAt (id, displayName, via)",
    "Q2": "Q2 one contact by id (via, metadata, conversations)",
    "Q3": "Q3 page of 50 after a cursor 150,000 rows deep",
    "Q4": "Q4 search a name substring, first 20",
    "Q5": "Q5 contact by phone handle, typed in another format",
    "M1": "M1 createContact with 2 handles",
    "M2": "M2 importContacts of 1,000 rows",
}


def fmt(r, key, digits=0):
    if r is None or r.get(key) is None:
        return "-"
    if key == "rps" and r[key] < 100:
        digits = max(digits, 1)  # M2 runs ~10-30 req/s: whole numbers hide a 10% change
    return f"{r[key]:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or not b["rps"]:
        return "-"
    return f"{a['rps'] / b['rps']:.2f}x"


def render(results, imports, cases, args):
    machine = machine_description()
    lines = [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine}.",
             f"{args.contacts:,} contacts; wrk -t2 -c{args.concurrency}, {args.warmup} s warm-up, "
             f"{args.duration} s measured per case; pgbench -M prepared -c{args.concurrency} -j2.", "",
             "### PostgreSQL", "",
             "| case | contacts-api req/s | p50 ms | p99 ms | peak RSS MiB | PostGraphile req/s | p50 ms | "
             "p99 ms | peak RSS MiB | api / PostGraphile | pgbench, api's statements tx/s | api / pgbench | "
             "pgbench, one JSON query tx/s | api / pgbench JSON |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        a, p, g = results.get((c, "api")), results.get((c, "peer")), results.get((c, "pgbench"))
        j = results.get((c, "pgjson"))
        lines.append(f"| {CASE_TITLES[c]} | {fmt(a, 'rps')} | {fmt(a, 'p50', 2)} | {fmt(a, 'p99', 2)} | "
                     f"{fmt(a, 'rss', 1)} | {fmt(p, 'rps')} | {fmt(p, 'p50', 2)} | {fmt(p, 'p99', 2)} | "
                     f"{fmt(p, 'rss', 1)} | {ratio(a, p)} | {fmt(g, 'rps')} | {ratio(a, g)} | "
                     f"{fmt(j, 'rps')} | {ratio(a, j)} |")
    seq = results.get(("Q4", "seqscan"))
    if seq:
        lines += ["", f"Q4 baseline, the same search as an ILIKE sequential scan through pgbench: "
                      f"{fmt(seq, 'rps')} tx/s (p50 {fmt(seq, 'p50', 2)} ms); contacts-api / baseline: "
                      f"{ratio(results.get(('Q4', 'api')), seq)}."]
    if any(k[1] == "sqlite" for k in results):
        lines += ["", "### SQLite", "", "| case | contacts-api req/s | p50 ms | p99 ms | peak RSS MiB |",
                  "|---|---:|---:|---:|---:|"]
        for c in cases:
            r = results.get((c, "sqlite"))
            lines.append(f"| {CASE_TITLES[c]} | {fmt(r, 'rps')} | {fmt(r, 'p50', 2)} | {fmt(r, 'p99', 2)} | "
                         f"{fmt(r, 'rss', 1)} |")
    lines += ["", "### Import", "", f"{args.contacts:,} contacts through importContacts in batches of "
              f"{args.batch:,}, {args.import_clients} in flight; COPY of the same rows in one transaction.", "",
              "| load | contacts/s | seconds | server peak RSS MiB |", "|---|---:|---:|---:|"]
    for name, (rate, seconds, rss) in imports.items():
        lines.append(f"| {name} | {rate:,.0f} | {seconds:.1f} | {'-' if rss is None else f'{rss:.1f}'} |")
    return "\n".join(lines) + "\n"


def machine_description():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    pg = psql_version()
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, shared by wrk, the server and {pg} "
            f"(local, default settings)")


def psql_version():
    try:
        return subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.split("(PostgreSQL) ")[
            -1].strip().join(("PostgreSQL ", ""))
    except OSError:
        return "PostgreSQL"


if __name__ == "__main__":
    main()
