#!/usr/bin/env python3
"""Precision and recall of duplicateCandidates on labelled contacts.

Generates the labelled rows (generate.py), loads them through
importContacts into a fresh database, reads every candidate pair at
minScore (the server's default unless --min-score), and reports, on
PostgreSQL and on SQLite:

- precision and recall over pairs (a true pair: two rows of one entity);
- recall per duplicate recipe, and false pairs per hard-negative kind;
- the first page's latency (first: 50), median and worst of --pages reads.

    python3 bench/duplicates/evaluate.py [--contacts 200000] [--seed 2] \
        [--min-score 0.7] [--no-sqlite] [--out bench/duplicates/RESULTS.md]

Uses the release binary of CARGO_TARGET_DIR (bench/run.py's --no-build
rule); tune on one seed, report on another.
"""
import argparse
import concurrent.futures
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import run  # noqa: E402  (bench/run.py: server start, psql, ports)
import generate  # noqa: E402

IMPORT = ("mutation($i: ImportContactsInput!) { importContacts(input: $i) "
          "{ createdCount errors { index code field reason message } } }")
IDS = ("query($after: String) { contacts(first: 100, after: $after) "
       "{ edges { node { id externalId } } pageInfo { hasNextPage endCursor } } }")
CANDIDATES = ("query($first: Int!, $after: String, $min: Float) { duplicateCandidates(first: $first, "
              "after: $after, minScore: $min) { edges { node { contactIds score reasons { kind fields } } } "
              "pageInfo { hasNextPage endCursor } } }")


def post(port, query, variables):
    """The data of a request; SERVER_BUSY (the index catching up after the
    load) is retried, as a client would."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    for _ in range(600):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", body,
                                     {"content-type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                out = json.loads(r.read())
        except urllib.error.HTTPError as e:
            out = json.loads(e.read())
        # SERVER_BUSY is the reason (extensions.reason) of a LIMIT_EXCEEDED:
        # the index is still being built; the work goes on, so ask again.
        reasons = {e.get("extensions", {}).get("reason") for e in out.get("errors") or []}
        if reasons == {"SERVER_BUSY"}:
            time.sleep(1)
            continue
        if out.get("errors"):
            sys.exit(f"request failed: {json.dumps(out)[:800]}")
        return out["data"]
    sys.exit("the server stayed busy for 10 minutes")


def load(port, rows):
    """Imports the rows; returns the seconds taken and the externalIds of
    rows refused because a handle of theirs is held already: since handles
    match by key, another national form of a number stored on the same
    channel is the same handle, so such a duplicate is prevented at write
    instead of found afterwards. Any other refusal stops the benchmark."""
    batches = [rows[i:i + 5000] for i in range(0, len(rows), 5000)]

    def send(batch):
        # A batch with a refused row writes nothing (the import is atomic):
        # sent again without the refused rows.
        prevented = []
        while True:
            out = post(port, IMPORT, {"i": {"contacts": batch}})["importContacts"]
            if not out["errors"]:
                return prevented
            refused = set()
            for error in out["errors"]:
                if error["code"] != "CONFLICT" or not (error["field"] or "").endswith(".handle"):
                    sys.exit(f"import refused a row: {json.dumps(error)}")
                refused.add(error["index"])
            prevented += [batch[i]["externalId"] for i in sorted(refused)]
            batch = [row for i, row in enumerate(batch) if i not in refused]

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        prevented = [x for found in pool.map(send, batches) for x in found]
    return time.perf_counter() - started, prevented


def external_ids(port):
    found, after = {}, None
    while True:
        page = post(port, IDS, {"after": after})["contacts"]
        found.update((e["node"]["id"], e["node"]["externalId"]) for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def candidates(port, min_score):
    pairs, after = {}, None
    while True:
        page = post(port, CANDIDATES, {"first": 1000, "after": after, "min": min_score})["duplicateCandidates"]
        for edge in page["edges"]:
            node = edge["node"]
            pairs[frozenset(node["contactIds"])] = node
        if not page["pageInfo"]["hasNextPage"]:
            return pairs
        after = page["pageInfo"]["endCursor"]


def first_page_latency(port, min_score, reads):
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        post(port, CANDIDATES, {"first": 50, "min": min_score})
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def score(labels, ids, found):
    """Metrics of the found pairs against the labels."""
    entity = {label["externalId"]: label["entity"] for label in labels}
    recipe = {label["externalId"]: label["recipe"] for label in labels}
    members = {}
    for label in labels:
        members.setdefault(label["entity"], []).append(label["externalId"])
    truth = {frozenset(p) for m in members.values() for p in itertools.combinations(m, 2)}
    got = {frozenset(ids[i] for i in pair) for pair in found}
    hits = truth & got
    per_recipe = {}
    for pair in truth:
        r = recipe[next(iter(pair))]
        total, hit = per_recipe.get(r, (0, 0))
        per_recipe[r] = (total + 1, hit + (pair in hits))
    false_by_kind = {}
    for pair in got - truth:
        kinds = "+".join(sorted({recipe[x] for x in pair}))
        false_by_kind[kinds] = false_by_kind.get(kinds, 0) + 1
    assert all(entity[a] != entity[b] for a, b in map(tuple, got - truth))
    return {
        "true_pairs": len(truth), "found_pairs": len(got), "hits": len(hits),
        "precision": len(hits) / len(got) if got else 1.0,
        "recall": len(hits) / len(truth) if truth else 1.0,
        "per_recipe": per_recipe, "false_by_kind": false_by_kind,
    }


def evaluate(name, url, port, rows, labels, args):
    api = run.start_api(url, port, None)
    try:
        run.log(f"{name}: loading {len(rows):,} labelled contacts")
        seconds, prevented = load(port, rows)
        ids = external_ids(port)
        run.log(f"{name}: reading every candidate at minScore {args.min_score}")
        started = time.perf_counter()
        found = candidates(port, args.min_score)
        every = time.perf_counter() - started
        median, worst = first_page_latency(port, args.min_score, args.pages)
    finally:
        run.stop(api)
    # A prevented row is no contact: its pairs are no candidates to find.
    refused = set(prevented)
    recipe = {label["externalId"]: label["recipe"] for label in labels}
    result = score([label for label in labels if label["externalId"] not in refused], ids, found)
    by_recipe = {}
    for external_id in refused:
        by_recipe[recipe[external_id]] = by_recipe.get(recipe[external_id], 0) + 1
    result.update(load_seconds=seconds, all_pages_seconds=every, first_page_ms=(median, worst),
                  prevented=by_recipe)
    return result


def render(results, args):
    lines = [f"## Duplicate candidates: {args.contacts:,} contacts, seed {args.seed}, minScore {args.min_score}", "",
             f"Command: `python3 bench/duplicates/evaluate.py --contacts {args.contacts} --seed {args.seed}"
             f" --min-score {args.min_score}`", "",
             "| database | true pairs | pairs found | precision | recall | first page ms (median / worst) | every page s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['true_pairs']:,} | {r['found_pairs']:,} | {r['precision']:.3f} | "
                     f"{r['recall']:.3f} | {r['first_page_ms'][0]:.0f} / {r['first_page_ms'][1]:.0f} | "
                     f"{r['all_pages_seconds']:.1f} |")
    for name, r in results.items():
        lines += ["", f"### {name}: recall per recipe", "", "| recipe | true pairs | found | recall |",
                  "|---|---:|---:|---:|"]
        for recipe, (total, hit) in sorted(r["per_recipe"].items()):
            lines.append(f"| {recipe} | {total:,} | {hit:,} | {hit / total:.3f} |")
        lines += ["", f"False pairs by the rows' kinds: {json.dumps(r['false_by_kind'], sort_keys=True)}"]
        lines += ["", "Rows refused at write as a number already stored in another national form on the "
                  f"same channel (duplicates prevented, left out of the pairs above): "
                  f"{json.dumps(r['prevented'], sort_keys=True)}"]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contacts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--min-score", type=float, default=0.7)
    ap.add_argument("--pages", type=int, default=20, help="reads of the first page timed")
    ap.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432"))
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    generated = generate.generate(args.contacts, args.seed)
    rows = [row for row, _ in generated]
    labels = [label for _, label in generated]
    results = {"PostgreSQL": evaluate("PostgreSQL", run.fresh_pg(args.pg_url, "contacts_dups"), run.API_PORT,
                                      rows, labels, args)}
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = evaluate("SQLite", f"sqlite://{tmp}/dups.db?mode=rwc", run.SQLITE_PORT,
                                         rows, labels, args)
    report = render(results, args)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
