#!/usr/bin/env python3
"""One client's dear requests must not hurt another's lookups.

Loads 50,000 contacts into a fresh PostgreSQL database, measures the median
latency of a simple lookup (contact by id) idle, then while N clients loop
over a request of 20 aliased `contacts(filter: {search}) { totalCount }`
(the most root fields --max-root-fields allows), and sends the 5,000-alias
document of issue 10. Prints the figures.

    python3 bench/isolation.py [--bin target/release/contacts-api] [--clients 1 2 4]

Needs PostgreSQL at 127.0.0.1:5432 (trust auth); creates and drops the
database `isolation_bench`.
"""
import argparse
import json
import statistics
import subprocess
import threading
import time
import urllib.request

PORT = 18390
URL = f"http://127.0.0.1:{PORT}/graphql"
DB = "isolation_bench"


def post(query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(URL, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read())


def psql(sql):
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


def run(binary, clients):
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    server = subprocess.Popen(
        [binary, "--database-url", f"postgres://postgres@127.0.0.1:5432/{DB}", "--listen", f"127.0.0.1:{PORT}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        load = "mutation($i: ImportContactsInput!) { importContacts(input: $i) { createdCount } }"
        for b in range(5):
            rows = [
                {"displayName": f"Person {b}-{i}", "organizationName": f"Org {i % 97}",
                 "via": [{"source": "email", "handle": f"p{b}-{i}@example.org"}]}
                for i in range(10000)
            ]
            answer = post(load, {"i": {"contacts": rows}})
            assert "errors" not in answer, answer
        cid = post("{ contacts(first: 1) { nodes { id } } }")["data"]["contacts"]["nodes"][0]["id"]
        lookup = "query($id: ID) { contact(id: $id) { id displayName } }"

        def latency(n=60):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                answer = post(lookup, {"id": cid})
                times.append(time.perf_counter() - t)
                assert "errors" not in answer, answer
            return statistics.median(times) * 1000

        idle = latency()
        dear = "{ " + " ".join(
            f'a{i}: contacts(first: 1, filter: {{search: "org {i}"}}) {{ totalCount }}' for i in range(20)
        ) + " }"
        stop = threading.Event()
        dear_times = []

        def loop():
            while not stop.is_set():
                t = time.perf_counter()
                answer = post(dear)
                dear_times.append(time.perf_counter() - t)
                assert "errors" not in answer, str(answer)[:300]

        threads = [threading.Thread(target=loop) for _ in range(clients)]
        for t in threads:
            t.start()
        time.sleep(1)
        busy = latency()
        stop.set()
        for t in threads:
            t.join()
        print(f"{clients} client(s) looping 20 counted searches: lookup median {idle:.1f} ms idle, "
              f"{busy:.1f} ms busy ({busy / idle:.2f}x); each dear request {statistics.median(dear_times) * 1000:.0f} ms")
        many = "{ " + " ".join(f"a{i}: contacts(first: 1) {{ totalCount }}" for i in range(5000)) + " }"
        t = time.perf_counter()
        answer = post(many)
        error = answer["errors"][0]
        print(f"5,000 aliases: {error['extensions']['code']} in {(time.perf_counter() - t) * 1000:.1f} ms ({error['message'][:90]})")
    finally:
        server.terminate()
        server.wait()
        psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/contacts-api")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    for n in args.clients:
        run(args.bin, n)
