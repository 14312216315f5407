#!/usr/bin/env bash
# Runs the Python SDK conformance suite against a freshly built Sundial.
#
#   bash tests/python/run.sh                 # whole suite
#   bash tests/python/run.sh -k update -x    # extra args go to pytest
#
# Environment:
#   VENV            virtualenv to use/create (default: tests/python/.venv)
#   PYTHON          interpreter used to create the venv (default: python3, >= 3.10)
#   SUNDIAL_ADDRESS host:port of an already running server; when set, the
#                   server is neither built nor started (e.g. to check the
#                   suite against another Temporal-compatible server)
#   SUNDIAL_BIN     server binary to start (default: <repo>/bin/sundial)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "run.sh: $PYTHON is older than Python 3.10" >&2
  exit 1
fi

# (Re)create the venv when it is missing or broken.
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "run.sh: creating virtualenv at $VENV" >&2
  "$PYTHON" -m venv --clear "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$HERE/requirements.txt"

if [ -z "${SUNDIAL_ADDRESS:-}" ] && [ -z "${SUNDIAL_BIN:-}" ]; then
  echo "run.sh: building bin/sundial" >&2
  (cd "$ROOT" && go build -o bin/sundial ./cmd/sundial)
fi

cd "$HERE"
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  # pytest's "no tests collected": never let that pass as success.
  echo "run.sh: pytest collected no tests (exit 5); treating as failure" >&2
  exit 1
fi
exit "$rc"
