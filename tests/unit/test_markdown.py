"""`plan --format markdown` on in-memory previews: long field lists collapse, and a plan longer
than a pull-request comment is cut between objects, never inside one's `<details>`."""

from __future__ import annotations

import re

from launchpad.state.records import Kind
from launchpad.temporal.fields import FieldChange
from reconciler.markdown import MARKER, MAX_CHARS, render
from reconciler.preview import UPDATE, Preview, PreviewItem

GITHUB_LIMIT = 65_536  # characters GitHub accepts in a comment


def update(name: str, fields: int, width: int = 8) -> PreviewItem:
    diff = [FieldChange(f"action.args[{i}]", f'"{"a" * width}"', f'"{"b" * width}"') for i in range(fields)]
    return PreviewItem(Kind.SCHEDULE, name, UPDATE, "spec changed", "Synced", diff=diff)


def preview(*items: PreviewItem) -> Preview:
    return Preview("feature", "0123456789abcdef", None, items=list(items))


def test_ten_changed_fields_are_shown_inline_and_eleven_are_collapsed() -> None:
    text = render(preview(update("ten", 10), update("eleven", 11)))
    inline = text.split("#### `ten` (schedule): update\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert inline == [f'- `action.args[{i}]`: "aaaaaaaa" → "bbbbbbbb"' for i in range(10)]
    assert "<summary>ten " not in text
    [collapsed] = re.findall(
        r"<details><summary>eleven \(schedule\): update, 11 field\(s\)</summary>\n\n(.*?)\n\n</details>", text, re.S
    )
    assert collapsed.splitlines() == [f'- `action.args[{i}]`: "aaaaaaaa" → "bbbbbbbb"' for i in range(11)]
    assert "#### `eleven`" not in text and "cut:" not in text


def test_a_plan_longer_than_a_comment_is_cut_between_objects_with_a_note() -> None:
    items = [update(f"s{n:03}", 30, width=40) for n in range(100)]  # about 300,000 characters of fields
    text = render(preview(*items))
    assert text.startswith(MARKER) and len(text) <= MAX_CHARS < GITHUB_LIMIT
    rows = [line for line in text.splitlines() if line.startswith("| :pencil2: |")]
    assert len(rows) == 100  # the summary table is whole
    kept, note = text.rsplit("\n\n", 1)
    assert note == "_…cut: the plan is longer than a comment holds; the CI job's log or summary has all of it._\n"
    blocks = re.findall(
        r"<details><summary>(s\d+) \(schedule\): update, 30 field\(s\)</summary>\n\n(.*?)\n\n</details>", kept, re.S
    )
    assert 0 < len(blocks) < 100
    assert [name for name, _ in blocks] == [f"s{n:03}" for n in range(len(blocks))]  # in order, none skipped
    assert all(len(fields.splitlines()) == 30 for _, fields in blocks)  # each one whole
    assert kept.count("<details>") == kept.count("</details>") == len(blocks)  # none left open
    assert kept.rstrip().endswith("</details>")
