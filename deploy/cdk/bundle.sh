#!/bin/sh
# The Lambda functions' code (deploy/cdk/build/lambda): eventcrm with the `aws` extra and
# every dependency, as wheels for Linux ARM64 and the functions' Python, with no Docker:
# pip picks the manylinux aarch64 wheels every dependency publishes.
#   make lambda-bundle       (or: PYTHON=.venv/bin/python sh deploy/cdk/bundle.sh)
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/deploy/cdk/build/lambda}"
python="${PYTHON:-python3}"
wheels="$(mktemp -d)"
trap 'rm -rf "$wheels"' EXIT

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" "$root"
rm -rf "$out"
"$python" -m pip install --quiet --disable-pip-version-check --no-compile \
    --platform manylinux2014_aarch64 --implementation cp --python-version 3.12 \
    --only-binary=:all: --target "$out" "$(ls "$wheels"/eventcrm-*.whl)[aws]"
echo "bundled into $out ($(du -sh "$out" | cut -f1))"
