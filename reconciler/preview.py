"""What merging a proposed revision would do to live Temporal: `launchpad plan --ref REV`.

The repository's own CI runs it in its checkout (reconciler.checkout): the plan a drift scan
would make at REV (the state store and a full listing of Temporal, read only), each update with
the fields it changes (the version that runs, read from the checkout, against REV's), and the
file errors REV introduces (those it has and `--base` has not). Like `terraform plan
-detailed-exitcode`: 0 when nothing would change, 2 when something would, 1 on an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from launchpad.errors import SpecErrors
from launchpad.spec.catalog import parse_file
from launchpad.spec.document import TaskDocument
from launchpad.spec.task import TaskSpec
from launchpad.state.records import FileError, Kind
from launchpad.state.store import call
from launchpad.temporal.fields import FieldChange, diff
from reconciler.checkout import CheckoutSource
from reconciler.desired import load_desired
from reconciler.plan import Action, PlanItem
from reconciler.source import UnknownRevision
from reconciler.sync import Reconciler

NO_CHANGE, CREATE, UPDATE, PRUNE = "no change", "create", "update", "prune"
CHANGES = {
    Action.CREATE: CREATE,
    Action.START: CREATE,
    Action.UPDATE: UPDATE,
    Action.RESTART: UPDATE,
    Action.RELOAD: UPDATE,
    Action.DELETE: PRUNE,
    Action.STOP: PRUNE,
}
EXIT_NO_CHANGE, EXIT_CHANGES = 0, 2  # an error exits 1 (the command line's rule for launchpad errors)
Env = Mapping[str, str] | None


@dataclass
class PreviewItem:
    kind: Kind
    name: str
    change: str  # create | update | prune | no change
    reason: str
    status: str  # where the object would stand after the sync
    waiting: str | None = None
    diff: list[FieldChange] = field(default_factory=list)
    note: str = ""  # why there is no field diff where one was expected

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = str(self.kind)
        out["diff"] = [{"path": c.path, "old": c.old, "new": c.new, "ignored": c.ignored} for c in self.diff]
        return out


@dataclass
class Preview:
    ref: str
    revision: str
    base: str | None  # what introduced errors are measured against
    items: list[PreviewItem] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)  # introduced by the change
    unchanged_errors: int = 0  # broken at the base already
    refused: str | None = None

    @property
    def changes(self) -> list[PreviewItem]:
        return [item for item in self.items if item.change != NO_CHANGE]

    @property
    def exit_code(self) -> int:
        return EXIT_CHANGES if self.changes or self.errors or self.refused else EXIT_NO_CHANGE

    def count(self, change: str) -> int:
        return sum(1 for item in self.items if item.change == change)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "revision": self.revision,
            "base": self.base,
            "exit_code": self.exit_code,
            "summary": {c: self.count(c) for c in (CREATE, UPDATE, PRUNE, NO_CHANGE)}
            | {"errors": len(self.errors), "errors_before": self.unchanged_errors},
            "refused": self.refused,
            "items": [item.as_dict() for item in self.items],
            "errors": [asdict(e) for e in self.errors],
        }


async def preview(reconciler: Reconciler, ref: str, base: str | None = None) -> Preview:
    """The preview of merging `ref` (any revision of the reconciler's `CheckoutSource`)."""
    checkout = reconciler.source
    assert isinstance(checkout, CheckoutSource)
    revision = await asyncio.to_thread(checkout.resolve, ref)
    plan, _ = await reconciler.plan(revision, hard=True)
    meta = await call(reconciler.store, reconciler.store.meta, reconciler.lease_key)
    base_revision = await asyncio.to_thread(_base, checkout, base, meta.revision, revision)
    before = await asyncio.to_thread(_errors_at, reconciler, base_revision) if base_revision else []
    known = {(e.file, e.path, e.message) for e in before}
    result = Preview(ref, revision, base_revision, refused=plan.refused)
    result.errors = [e for e in plan.errors if (e.file, e.path, e.message) not in known]
    result.unchanged_errors = len(plan.errors) - len(result.errors)
    for item in plan.items:
        result.items.append(await asyncio.to_thread(_item, item, checkout, base_revision, reconciler.env))
    return result


def _base(checkout: CheckoutSource, base: str | None, synced: str | None, revision: str) -> str | None:
    """`--base`, else the revision last synced (what runs), else where REV left the branch."""
    if base:
        return checkout.resolve(base)
    if synced and checkout.contains(synced):
        return synced
    for branch in (f"origin/{checkout.branch}", checkout.branch):
        try:
            return checkout.merge_base(revision, checkout.resolve(branch))
        except UnknownRevision:  # no such branch in this checkout
            continue
    return None


def _errors_at(reconciler: Reconciler, revision: str) -> list[FileError]:
    files = reconciler.source.files(revision, reconciler.folders())
    return load_desired(reconciler.source, revision, files, [], "", reconciler.env).errors


def _item(item: PlanItem, checkout: CheckoutSource, base: str | None, env: Env) -> PreviewItem:
    change = CHANGES.get(item.action, NO_CHANGE)
    out = PreviewItem(item.kind, item.name, change, item.reason, str(item.status), item.waiting)
    if item.kind == Kind.WORKER or item.desired is None or change not in (CREATE, UPDATE):
        return out
    new = _spec(item.desired.path, checkout.read_blob(item.desired.blob), env)
    old = None
    if change == UPDATE:
        old = _applied_version(item, checkout, base, env)
        if old is None:
            out.note = "the version that runs is not in this checkout (fetch more history): no field diff"
            return out
    if new is not None:
        out.diff = diff(old, new, new.ignore_differences)
    if change == UPDATE and not out.diff:
        out.note = "no field of the file changed: the object is rewritten to match it"
    return out


def _applied_version(item: PlanItem, checkout: CheckoutSource, base: str | None, env: Env) -> TaskSpec | None:
    """The task as it runs: the blob last applied, else the file at the base revision."""
    applied = item.applied
    if applied is not None and applied.applied and checkout.has_blob(applied.blob):
        return _spec(applied.path, checkout.read_blob(applied.blob), env)
    path = applied.path if applied is not None and applied.path else item.desired.path if item.desired else ""
    text = checkout.read(path, base) if base and path else None
    return _spec(path, text, env) if text is not None else None


def _spec(path: str, text: str, env: Env) -> TaskSpec | None:
    try:
        parsed = parse_file(path, text, env)
    except SpecErrors:
        return None
    return parsed.spec() if isinstance(parsed, TaskDocument) else None
