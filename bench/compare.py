#!/usr/bin/env python3
"""Compares two builds of contacts-api on some of bench/run.py's cases.

Runs bench/run.py (no PostGraphile) alternately with each build's release
binary, ROUNDS times each, and prints the median req/s and peak RSS of each
case on each database, and after/before.

    python3 bench/compare.py --before /path/to/target-a --after /path/to/target-b \
        [--cases M1,M2] [--rounds 3] [--contacts 20000] [--duration 15]

Each --before/--after is a CARGO_TARGET_DIR holding release/contacts-api
(build it there first: `CARGO_TARGET_DIR=... cargo build --release --locked`).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))


def run_once(target, args, out):
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    cmd = [sys.executable, os.path.join(BENCH, "run.py"), "--no-build", "--no-peer",
           "--cases", args.cases, "--contacts", str(args.contacts),
           "--depth", str(min(args.contacts - 100, 1000)), "--duration", str(args.duration),
           "--out", out]
    subprocess.run(cmd, env=env, check=True)
    return parse(open(out).read())


def parse(report):
    """{(database, case): (req/s, peak RSS MiB)} from run.py's markdown."""
    found = {}
    database = None
    for line in report.splitlines():
        heading = re.match(r"### (PostgreSQL|SQLite)\s*$", line)
        if heading:
            database = heading.group(1)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if database and cells and re.match(r"^[QM]\d ", cells[0]):
            case = cells[0].split()[0]
            number = lambda s: float(s.replace(",", ""))
            found[(database, case)] = (number(cells[1]), number(cells[4]))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--cases", default="M1,M2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--contacts", type=int, default=20_000)
    ap.add_argument("--duration", type=int, default=15, help="seconds measured per case")
    args = ap.parse_args()
    runs = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in ("before", "after"):
                target = getattr(args, name)
                print(f"== round {r + 1}: {name} ({target})", flush=True)
                runs[name].append(run_once(target, args, os.path.join(tmp, f"{name}{r}.md")))
    keys = sorted(set().union(*[set(x) for x in runs["before"] + runs["after"]]))
    print("\n| database | case | before req/s | after req/s | after/before | before peak RSS MiB | after peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for key in keys:
        med = {}
        for name in ("before", "after"):
            rates = [run[key][0] for run in runs[name] if key in run]
            rss = [run[key][1] for run in runs[name] if key in run]
            med[name] = (statistics.median(rates), statistics.median(rss), rates)
        b, a = med["before"], med["after"]
        print(f"| {key[0]} | {key[1]} | {b[0]:,.0f} | {a[0]:,.0f} | {a[0] / b[0]:.2f}x | {b[1]:.1f} | {a[1]:.1f} |")
    print("\nEvery run (req/s):")
    for key in keys:
        print(key, {n: [run[key][0] for run in runs[n] if key in run] for n in runs})


if __name__ == "__main__":
    main()
