#!/usr/bin/env bash
# Sets up the machine, builds LowBit and runs every test: the lit suite (IR
# round trips, verifier diagnostics, lowering FileCheck tests, integration runs)
# and the GoogleTest unit tests, all under ctest. Ends with one line,
# `N passed, M failed`, counting individual lit and gtest cases.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LOWBIT_BUILD_DIR:-$root/build}"

"$root/scripts/setup.sh"
"$root/scripts/fetch-models.sh"
"$root/scripts/build.sh" lowbit-test-depends

status=0
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" \
  --output-junit "$build/ctest-results.xml" || status=$?

python3 - "$build" <<'PY'
import json, sys, xml.etree.ElementTree as ET
build = sys.argv[1]
passed = failed = 0
# Individual gtest cases from ctest's JUnit report (the lit suite is one
# ctest test there; its cases are counted from lit's own report).
for case in ET.parse(f"{build}/ctest-results.xml").getroot().iter("testcase"):
    if case.get("name") == "lit":
        continue
    if case.get("status") == "run":
        passed += 1
    else:
        failed += 1
try:
    with open(f"{build}/test/lit-results.json") as f:
        for test in json.load(f)["tests"]:
            if test["code"] in ("PASS", "XFAIL"):
                passed += 1
            elif test["code"] not in ("UNSUPPORTED",):
                failed += 1
except FileNotFoundError:
    failed += 1
    print("lit did not run")
print(f"{passed} passed, {failed} failed")
PY
exit $status
