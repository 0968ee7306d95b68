"""A preview (`launchpad plan --ref`) as Markdown for a pull-request comment: one summary table,
then each object's field changes, long ones collapsed in `<details>`, within a comment's size."""

from __future__ import annotations

from reconciler.preview import CREATE, NO_CHANGE, PRUNE, UPDATE, Preview, PreviewItem

MARKER = "<!-- launchpad-plan -->"  # lets a CI job find and edit its earlier comment
INLINE_LINES = 10  # longer field lists are collapsed
MAX_CHARS = 60_000  # GitHub refuses comments over 65,536 characters
CUT = "_…cut: the plan is longer than a comment holds; the CI job's log or summary has all of it._\n"
ICONS = {CREATE: ":heavy_plus_sign:", UPDATE: ":pencil2:", PRUNE: ":wastebasket:"}  # GitHub and GitLab shortcodes


def cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render(preview: Preview, branch: str = "") -> str:
    lines = [MARKER, "### launchpad plan", ""]
    into = f" into `{branch}`" if branch else ""
    base = f"; file errors compared with `{preview.base[:12]}`" if preview.base else ""
    lines.append(f"Merging `{preview.revision[:12]}`{into}, compared with live Temporal{base}.")
    lines.append("")
    if preview.refused:
        lines += [f"> **Refused:** {preview.refused}", ""]
    if not preview.changes and not preview.errors:
        lines.append("**No changes.** Temporal already matches this revision.")
        return "\n".join(lines) + "\n"
    counts = [f"{preview.count(c)} to {c}" for c in (CREATE, UPDATE, PRUNE)]
    counts.append(f"{preview.count(NO_CHANGE)} unchanged")
    if preview.errors:
        counts.append(f"{len(preview.errors)} file error(s) introduced")
    lines += ["**" + " · ".join(counts) + "**", ""]
    if preview.unchanged_errors:
        lines += [f"_{preview.unchanged_errors} file error(s) the base has too are not listed._", ""]
    lines += ["| | object | change | why |", "| --- | --- | --- | --- |"]
    for item in preview.changes:
        why = item.waiting or item.reason
        lines.append(f"| {ICONS[item.change]} | {item.kind} {code(item.name)} | {item.change} | {cell(why)} |")
    for error in preview.errors:
        where = f"{error.file}:{error.line}:{error.column}" if error.line else error.file
        lines.append(f"| :x: | file {code(where)} | error | {code(error.path)}: {cell(error.message)} |")
    lines.append("")
    return _fit([*lines, *("\n".join(block) for block in map(_details, preview.changes) if block)])


def _fit(parts: list[str]) -> str:
    """The comment within MAX_CHARS: whole parts (a line, or one object's block, so that no
    `<details>` is left open to swallow the rest) while they fit, then a note that it was cut."""
    text = "\n".join(parts) + "\n"
    if len(text) <= MAX_CHARS:
        return text
    kept: list[str] = []
    size = len(CUT) + 1  # the blank line before it
    for part in parts:
        size += len(part) + 1
        if size > MAX_CHARS:
            break
        kept.append(part)
    return "\n".join(kept) + "\n\n" + CUT


def _details(item: PreviewItem) -> list[str]:
    if not item.diff and not item.note:
        return []
    rows = [
        f"- {code(c.path)}: {c.new}" if item.change == CREATE else f"- {code(c.path)}: {c.old} → {c.new}"
        for c in item.diff
    ]
    rows = [
        row + (" _(ignored: the live value is kept)_" if c.ignored else "")
        for row, c in zip(rows, item.diff, strict=True)
    ]
    if item.note:
        rows.append(f"- _{item.note}_")
    title = f"{code(item.name)} ({item.kind}): {item.change}"
    if item.change == CREATE or len(rows) > INLINE_LINES:
        summary = f"{item.name} ({item.kind}): {item.change}, {len(item.diff)} field(s)"
        return [f"<details><summary>{summary}</summary>", "", *rows, "", "</details>", ""]
    return [f"#### {title}", "", *rows, ""]
