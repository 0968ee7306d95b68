"""The overview's content, from the state store alone: the last sync, broken files, one row per object.

Statuses are read as the strings the store holds, so a status the reconciler adds later shows up
(and can be filtered on) without a change here.

The object rows are written here, not by the template, and kept: a row is a pure function of the
object's fields and the link settings, so a row rendered once is reused by every later refresh
until one of those changes (the key holds them all; nothing can go stale). A thousand rows through
jinja2's loop cost more than the store read they show. Every value goes through markupsafe's
`escape`, as the template's autoescaping would.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from functions.ui.links import Links, object_page
from launchpad.state import AppliedObject, FileError, Outcome, SyncRecord


@dataclass(frozen=True, slots=True)
class KeptVersion:
    """An object a broken file described, still running the version from `revision`."""

    kind: str
    name: str
    revision: str
    commit_url: str | None


@dataclass(frozen=True, slots=True)
class FileProblem:
    file: str
    path: str
    message: str
    revision: str
    commit_url: str | None
    kept: list[KeptVersion]


@dataclass(frozen=True, slots=True)
class SyncView:
    id: str
    status: str
    trigger: str
    revision: str | None
    commit_url: str | None
    started_at: datetime
    duration: timedelta | None
    writes: int
    outcomes: list[Outcome]
    file_errors: list[FileError]
    messages: list[str]  # what the sync says beyond its files: an outage, a refused sync


def sync_view(record: SyncRecord, links: Links) -> SyncView:
    return SyncView(
        id=record.id,
        status=record.status,
        trigger=record.trigger,
        revision=record.revision,
        commit_url=links.commit(record.revision),
        started_at=record.started_at,
        duration=record.finished_at - record.started_at if record.finished_at else None,
        writes=sum(1 for o in record.outcomes if o.wrote),
        outcomes=record.outcomes,
        file_errors=record.errors,
        messages=[record.message] if record.message else [],
    )


def file_problems(last: SyncView | None, objects: list[AppliedObject], links: Links) -> list[FileProblem]:
    """The last sync's broken files, each with the objects that keep running their last good version."""
    if last is None:
        return []
    by_path: dict[str, list[AppliedObject]] = {}
    for obj in objects:
        by_path.setdefault(obj.path, []).append(obj)
    problems = []
    for error in last.file_errors:
        revision = error.revision or last.revision or ""
        kept = [KeptVersion(o.kind, o.name, o.revision, links.commit(o.revision)) for o in by_path.get(error.file, [])]
        problems.append(FileProblem(error.file, error.path, error.message, revision, links.commit(revision), kept))
    return problems


@dataclass
class Overview:
    last: SyncView | None
    problems: list[FileProblem]
    rows: Markup  # the object table's rows
    shown: int
    total: int
    statuses: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def _link(href: str | None, text: str) -> str:
    return f'<a href="{escape(href)}">{text}</a>' if href else text


def row(o: AppliedObject, links: Links) -> str:
    """Lean markup (no closing cells, the badge's class on its cell, links through the dashboard's
    redirects): a thousand rows are under 300 KB uncompressed."""
    status = escape(o.status)
    temporal = links.row_temporal(o.kind, o.name, o.server, o.namespace, o.temporal_id)
    return (
        f"<tr><td>{escape(o.kind)}<td>{_link(object_page(o.kind, o.name), escape(o.name))}"
        f'<td class="{status.lower()}">{status}<td>{escape(o.reason)}'
        f"<td>{_link(links.row_commit(o.revision), escape(o.revision[:12]))}"
        f"<td>{escape(o.server or '')}/{escape(o.namespace or '')}<td>{_link(temporal, 'open')}\n"
    )


ROW_CACHE = 20_000  # rows kept across requests; all dropped at once when full
rendered_rows: dict[tuple[str | None, ...], str] = {}


def cached_row(o: AppliedObject, links: Links) -> str:
    key = (links.key, o.kind, o.name, o.status, o.reason, o.revision, o.server, o.namespace, o.temporal_id)
    html = rendered_rows.get(key)
    if html is None:
        if len(rendered_rows) >= ROW_CACHE:
            rendered_rows.clear()
        html = rendered_rows[key] = row(o, links)
    return html


def overview(
    objects: list[AppliedObject], last: SyncRecord | None, links: Links, status: str | None, kind: str | None
) -> Overview:
    last_view = sync_view(last, links) if last else None
    shown = [o for o in objects if (not status or o.status == status) and (not kind or o.kind == kind)]
    return Overview(
        last=last_view,
        problems=file_problems(last_view, objects, links),
        rows=Markup("".join([cached_row(o, links) for o in shown])),
        shown=len(shown),
        total=len(objects),
        statuses=sorted({o.status for o in objects}),
        kinds=sorted({o.kind for o in objects}),
    )
