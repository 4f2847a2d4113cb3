#!/usr/bin/env python3
"""Runs numpy's and scipy's own convolution tests against `convoy convolve` and reports, per
test class, how many passed, failed, or could not be expressed with convoy's command line.

    python3 benches/conformance/run.py [--jobs 2] [--convoy target/release/convoy] [-k EXPR]

Needs numpy, scipy, pytest, hypothesis and pytest-xdist (pip install pytest hypothesis
pytest-xdist). The upstream test files are those of the installed numpy and scipy: numpy's
_core/tests/test_numeric.py, scipy.signal's tests/test_signaltools.py and scipy.ndimage's
tests/test_filters.py, run whole; only the tests that call one of the replaced functions
(convoy_shim.py) are counted. Not `cargo test`: the crate's tests need no Python.

A test counts as "not expressible" when a call it makes has no convoy equivalent (the reasons
are tallied: output= arrays, float16/longdouble/object dtypes, ...), whatever its outcome.
--failures lists every failing test with the last line of its report.
"""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--convoy", default=os.path.join(ROOT, "target", "release", "convoy"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("-k", dest="keyword", default=None, help="pytest -k expression")
    ap.add_argument("--failures", action="store_true", help="list the failing tests")
    ap.add_argument("--json", help="write the per-test results here")
    ap.add_argument("files", nargs="*", help="test files or node ids (default: the three files)")
    args = ap.parse_args()

    import numpy
    import scipy

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    files = args.files or [
        os.path.join(os.path.dirname(numpy.__file__), "_core", "tests", "test_numeric.py"),
        os.path.join(os.path.dirname(scipy.__file__), "signal", "tests", "test_signaltools.py"),
        os.path.join(os.path.dirname(scipy.__file__), "ndimage", "tests", "test_filters.py"),
    ]
    with tempfile.TemporaryDirectory(prefix="convoy-conformance-") as d:
        env = dict(os.environ)
        env["CONVOY"] = os.path.abspath(args.convoy)
        env["CONVOY_SHIM_RESULTS"] = os.path.join(d, "results")
        env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
        cmd = [sys.executable, "-m", "pytest", "-p", "convoy_shim", "-q", "-p", "no:cacheprovider",
               "--no-header", "-rN", "--tb=line", "-W", "ignore", *files]
        if args.jobs > 1:
            cmd += ["-n", str(args.jobs)]
        if args.keyword:
            cmd += ["-k", args.keyword]
        # From the packages' folder, so that pytest finds numpy's and scipy's conftest.py.
        site = os.path.commonpath([os.path.dirname(os.path.dirname(numpy.__file__)),
                                   os.path.dirname(os.path.dirname(scipy.__file__))])
        subprocess.run(cmd, env=env, cwd=site, stdout=subprocess.DEVNULL)
        results = []
        for f in glob.glob(env["CONVOY_SHIM_RESULTS"] + ".*.json"):
            with open(f) as fh:
                results += json.load(fh)
    report(results, args)


def klass(nodeid):
    path, _, rest = nodeid.partition("::")
    name = rest.split("::")[0].split("[")[0]
    return f"{os.path.basename(path)}::{name}"


def report(results, args):
    rows = collections.OrderedDict()
    reasons = collections.Counter()
    failures = []
    for r in results:
        if r["calls"] == 0 and not r["reasons"]:
            continue
        k = klass(r["nodeid"])
        row = rows.setdefault(k, collections.Counter())
        if r["reasons"]:
            row["not expressible"] += 1
            for why in r["reasons"]:
                reasons[why] += 1
        elif r["outcome"] == "passed":
            row["passed"] += 1
        elif r["outcome"] == "skipped":
            row["skipped"] += 1
        else:
            row["failed"] += 1
            failures.append((r["nodeid"], r["message"]))
    total = collections.Counter()
    print(f"{'test class':<52} {'passed':>7} {'failed':>7} {'not expr.':>9} {'skipped':>8}")
    for k in sorted(rows):
        row = rows[k]
        total.update(row)
        print(f"{k:<52} {row['passed']:>7} {row['failed']:>7} {row['not expressible']:>9} {row['skipped']:>8}")
    print(f"{'total':<52} {total['passed']:>7} {total['failed']:>7} {total['not expressible']:>9} {total['skipped']:>8}")
    if reasons:
        print("\nnot expressible, by reason (a test may count under several):")
        for why, n in reasons.most_common():
            print(f"  {n:>6}  {why}")
    if args.failures and failures:
        print("\nfailures:")
        for nodeid, msg in sorted(failures):
            print(f"  {nodeid}\n      {msg}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
