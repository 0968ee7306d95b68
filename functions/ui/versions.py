"""A file's versions from git, each with the diff it introduced, and the diff of two versions."""

import difflib
from dataclasses import dataclass
from datetime import datetime

from reconciler.source import GitSource

SHOWN = 20  # versions per page; older ones stay in git


@dataclass(frozen=True)
class Version:
    revision: str
    author: str
    date: datetime
    message: str
    diff: str


def diff(old: str | None, new: str | None, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True), old_name, new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def versions(source: GitSource, path: str) -> list[Version]:
    """Newest first; each diff is against the version before it (the first is all added lines).

    Blocking (git): call it off the event loop."""
    history = source.history(path, limit=SHOWN + 1)
    texts = [source.read(path, r.sha) for r in history]
    out = []
    for i, rev in enumerate(history[:SHOWN]):
        before = texts[i + 1] if i + 1 < len(texts) else None
        change = diff(before, texts[i], f"a/{path}", f"b/{path}")
        out.append(Version(rev.sha, rev.author, rev.date, rev.message, change))
    return out
