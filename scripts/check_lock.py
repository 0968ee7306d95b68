"""Fails when requirements/test.lock does not satisfy pyproject.toml (run `scripts/lock` then)."""

import sys
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement

missing = []
for line in requires("launchpad") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": "test"}):
        continue
    try:
        found = version(req.name)
    except PackageNotFoundError:
        missing.append(f"{req} (not installed)")
        continue
    if not req.specifier.contains(found, prereleases=True):
        missing.append(f"{req} (locked: {found})")
if missing:
    sys.exit("requirements/test.lock does not satisfy pyproject.toml; run scripts/lock:\n  " + "\n  ".join(missing))
