#!/usr/bin/env bash
# The whole suite. Locally: SQLite, plus the browser tests when Chromium is installed.
# In CI (CI=true): the browser tests must run, and the suite runs again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export RAPPORT_DEBUG=true

echo "== unit and integration tests (SQLite)"
$BIN/pytest -q -n 2 -m "not e2e and not single_process" rapport

echo "== browser tests (Playwright + Chromium)"
$BIN/pytest -q -m e2e tests/e2e

if [ "${CI:-}" = "true" ] || [ -n "${RAPPORT_TEST_POSTGRES:-}" ]; then
  url="${RAPPORT_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/test}"
  echo "== unit and integration tests (PostgreSQL: $url)"
  DATABASE_URL="$url" $BIN/pytest -q -n 2 -m "not e2e and not single_process" rapport
  echo "== tests that need a process of their own (PostgreSQL)"
  DATABASE_URL="$url" $BIN/pytest -q -p no:xdist -m single_process rapport
fi
