#!/usr/bin/env bash
# Builds the Python dependencies layer for the zip deployment (Linux x86_64, Python 3.11):
# infra/lambda/layer.zip, to attach to both functions (layers: in serverless.yml).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
python3 -m pip install --quiet --target "$out/python" --platform manylinux2014_x86_64 \
  --implementation cp --python-version 3.11 --only-binary=:all: .
(cd "$out" && zip -qr "$OLDPWD/infra/lambda/layer.zip" python)
echo "wrote infra/lambda/layer.zip"
