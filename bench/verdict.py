#!/usr/bin/env python3
"""The targets over several full runs: each run's ratio and their median.

    bench/verdict.py RUN_DIR_OR_RESULTS_JSON...

A ratio near its line flips between runs on a shared machine (run.py
prints one run's); the median over runs is the verdict docs/PERFORMANCE.md
gives. Lines named "bound" are not targets: they are floors (what no
writer of the kind can beat) set against the same peers.
"""
import json
import os
import statistics
import sys


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        return json.load(f)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    runs = [load(p) for p in argv[1:]]
    order, ratios, goals, at_most = [], {}, {}, {}
    for run in runs:
        for t in run.get("targets", []):
            key = (t["target"], t["system"])
            if key not in ratios:
                order.append(key)
                ratios[key] = []
            goals[key] = t["goal"]
            at_most[key] = t.get("at_most", False)  # W5: a time or RSS ratio, lower is better
            if t.get("ratio") is not None:
                ratios[key].append(t["ratio"])
    width = max(len("%s, %s" % k) for k in order) if order else 0
    for key in order:
        vals = ratios[key]
        name = "%s, %s" % key
        if not vals:
            print("%-*s  not measured" % (width, name))
            continue
        med = statistics.median(vals)
        if at_most[key]:
            met = med <= goals[key] + 1e-12
        else:
            met = med >= goals[key] - 1e-12
        print("%-*s  median %6.2fx  (goal %s%.2fx) %-6s  runs: %s" % (
            width, name, med, "<= " if at_most[key] else "", goals[key], "MET" if met else "MISSED",
            " ".join("%.2f" % v for v in vals)))


if __name__ == "__main__":
    main(sys.argv)
