#!/usr/bin/env bash
# Builds the Python dependencies layer for the zip deployment (Linux x86_64, Python 3.11):
# infra/lambda/layer.zip, to attach to both functions (layers: in serverless.yml).
# Bytecode is compiled by python3.11, the runtime's version, as hash-based .pyc files: pip would
# compile with whatever python3 is here, and timestamp-checked files may not survive a zip's 2-second
# times; either way each cold start would compile the modules again (the layer is read-only).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v python3.11 >/dev/null || { echo "python3.11 is needed to compile the layer's bytecode" >&2; exit 1; }
out=$(mktemp -d)
python3 -m pip install --quiet --no-compile --target "$out/python" --platform manylinux2014_x86_64 \
  --implementation cp --python-version 3.11 --only-binary=:all: .
python3.11 -m compileall -q --invalidation-mode unchecked-hash "$out/python"
rm -f infra/lambda/layer.zip
(cd "$out" && zip -qr "$OLDPWD/infra/lambda/layer.zip" python)
echo "wrote infra/lambda/layer.zip"
