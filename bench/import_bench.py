#!/usr/bin/env python3
"""Import benchmark for contacts-api.

1. importContacts: ROWS generated contacts (2 handles, 3 metadata keys, 1 group
   each) posted in batches of BATCH rows to a release server, on SQLite and on
   PostgreSQL. Prints rows/s and the server's peak RSS (VmHWM).
2. The command line: `contacts-api import FILE.csv` on CSV files of two sizes,
   to show its peak RSS stays flat as the file grows. Prints rows/s and peak RSS.
3. Upload: the same CSV of UPLOAD_ROWS rows sent to a release server as one
   importContactsFile request (the GraphQL multipart request spec), timed from
   the request to the job's end; beside it, in the same run, the command line
   importing that file with its default batch size. Prints rows/s and peak RSS
   (the server's, the command's).

Run from anywhere: python3 bench/import_bench.py [--no-postgres] [--rows N] ...
Needs only Python's standard library, cargo, and for PostgreSQL psql and a
server at PG_URL (default postgres://postgres@127.0.0.1:5432).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERY = ("mutation($i: ImportContactsInput!) { importContacts(input: $i) "
         "{ createdCount errors { index message } } }")


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "contacts-api")


def phone(i):
    # 617 area, exchanges 200-999: eight million valid, distinct US numbers.
    return f"+1617{200 + i // 10000:03d}{i % 10000:04d}"


def row(i):
    return {
        "displayName": f"Person {i}",
        "via": [
            {"source": "email", "handle": f"person{i}@example.org"},
            {"source": "phone", "handle": phone(i)},
        ],
        "metadata": {"crm_id": f"C{i}", "tier": ("gold", "silver", "bronze")[i % 3], "score": i % 100},
        "groupNames": [f"group-{i % 20}"],
    }


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start_server(database_url, port):
    env = dict(os.environ, DATABASE_URL=database_url, CONTACTS_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn")
    proc = subprocess.Popen([binary(), "serve"], env=env)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"server on {database_url} did not start")


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def bench_mutation(label, database_url, rows, batch, port):
    bodies = [
        json.dumps({"query": QUERY, "variables": {"i": {"contacts": [row(i) for i in range(s, min(s + batch, rows))]}}}).encode()
        for s in range(0, rows, batch)
    ]
    proc = start_server(database_url, port)
    try:
        start = time.perf_counter()
        for body in bodies:
            out = post(port, body)
            created = (out.get("data") or {}).get("importContacts", {}).get("createdCount")
            errors = out.get("errors") or (out.get("data") or {}).get("importContacts", {}).get("errors")
            if errors or not created:
                sys.exit(f"{label}: import failed: {json.dumps(out)[:500]}")
        elapsed = time.perf_counter() - start
        rss = peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
    return rows / elapsed, elapsed, rss


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("displayName,via.email,via.phone,metadata.crm_id,metadata.tier,metadata.score,groupNames\n")
        for i in range(rows):
            r = row(i)
            m = r["metadata"]
            f.write(f"{r['displayName']},{r['via'][0]['handle']},{r['via'][1]['handle']},"
                    f"{m['crm_id']},{m['tier']},{m['score']},{r['groupNames'][0]}\n")


def bench_cli(database_url, csv_path, rows, batch_flags=("--batch-size", "10000")):
    env = dict(os.environ, DATABASE_URL=database_url, RUST_LOG="warn")
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M", binary(), "import", csv_path, *batch_flags],
                         env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"CLI import failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    rss_kib = int(next(l for l in out.stderr.splitlines() if l.startswith("MAXRSS")).split()[1])
    return rows / elapsed, elapsed, rss_kib / 1024


UPLOAD = ("mutation($f: Upload!) { importContactsFile(file: $f) { id } }")
JOB = ("query($id: ID!) { importJob(id: $id) { status rowsRead createdCount failedCount error } }")


def bench_upload(database_url, csv_path, rows, port):
    boundary = "contacts-api-bench"
    operations = json.dumps({"query": UPLOAD, "variables": {"f": None}})
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.f\"]}}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"contacts.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body_path = csv_path + ".multipart"
    with open(body_path, "wb") as out, open(csv_path, "rb") as src:
        out.write(head)
        while chunk := src.read(1 << 20):
            out.write(chunk)
        out.write(tail)
    proc = start_server(database_url, port)
    try:
        start = time.perf_counter()
        with open(body_path, "rb") as body:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql", body,
                {"content-type": f"multipart/form-data; boundary={boundary}",
                 "content-length": str(os.path.getsize(body_path)),
                 "apollo-require-preflight": "true"})
            with urllib.request.urlopen(req, timeout=600) as r:
                out = json.loads(r.read())
        job_id = out["data"]["importContactsFile"]["id"]
        while True:
            job = post(port, json.dumps({"query": JOB, "variables": {"id": job_id}}).encode())["data"]["importJob"]
            if job["status"] != "RUNNING":
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        rss = peak_rss_mib(proc.pid)
        if job["status"] != "SUCCEEDED" or job["createdCount"] != rows:
            sys.exit(f"upload import failed: {job}")
    finally:
        proc.terminate()
        proc.wait()
        os.remove(body_path)
    return rows / elapsed, elapsed, rss


def fresh_postgres(pg_url, name):
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{pg_url}/postgres", "-qc", sql], check=True)
    return f"{pg_url}/{name}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--cli-rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--upload-rows", type=int, default=1_000_000,
                   help="rows of the uploaded file (0: no upload case)")
    p.add_argument("--only-upload", action="store_true", help="run the upload case alone")
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()
    pg_url = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        dbs = [("SQLite", lambda name: f"sqlite://{tmp}/{name}.db?mode=rwc")]
        if not args.no_postgres:
            dbs.append(("PostgreSQL", lambda name: fresh_postgres(pg_url, name)))
        if args.upload_rows:
            n = args.upload_rows
            csv_path = os.path.join(tmp, f"upload_{n}.csv")
            write_csv(csv_path, n)
            size = os.path.getsize(csv_path) / 2**20
            for label, url in dbs:
                rate, secs, rss = bench_upload(url(f"bench_upload_{n}"), csv_path, n, 18091)
                results.append((f"upload {n:,}-row CSV ({size:.0f} MiB), server", label, rate, secs, rss))
                rate, secs, rss = bench_cli(url(f"bench_upload_cli_{n}"), csv_path, n, ())
                results.append((f"CLI import of the same file, defaults", label, rate, secs, rss))
            os.remove(csv_path)
        if args.only_upload:
            args.rows, args.cli_rows = 0, []
        for label, url in dbs:
            if not args.rows:
                break
            rate, secs, rss = bench_mutation(label, url("bench_mutation"), args.rows, args.batch, 18090)
            results.append((f"importContacts {args.rows:,} rows, batches of {args.batch:,}", label, rate, secs, rss))
        for n in args.cli_rows:
            csv_path = os.path.join(tmp, f"contacts_{n}.csv")
            write_csv(csv_path, n)
            size = os.path.getsize(csv_path) / 2**20
            for label, url in dbs:
                rate, secs, rss = bench_cli(url(f"bench_cli_{n}"), csv_path, n)
                results.append((f"CLI import {n:,}-row CSV ({size:.0f} MiB)", label, rate, secs, rss))
            os.remove(csv_path)

    print(f"\n{'case':<48} {'database':<11} {'rows/s':>9} {'seconds':>8} {'peak RSS MiB':>13}")
    for case, db, rate, secs, rss in results:
        print(f"{case:<48} {db:<11} {rate:>9,.0f} {secs:>8.1f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
