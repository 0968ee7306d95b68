"""Templating, overwrite and their guards: values only, sandboxed, nothing else changes."""

from __future__ import annotations

import pytest

from launchpad.errors import SpecErrors
from launchpad.spec.document import TaskDocument

FILE = "deployments/tasks/tpl.yaml"
TEMPLATE = """
name: tpl
runner: WorkflowRunner
template: true
overwritable: true
workflow:
  task_queue: q
  workflow_id: "report-{{ customer }}"
  workflow: Task
  memo: {owner: platform}
  workflow_kwargs:
    activity: build_report
    args: ["{{ customer }}", "{{ items }}", "prefix-{{ n * 2 }}"]
    start_to_close_timeout: "{{ timeout }}"
"""
PLAIN = TEMPLATE.replace("template: true\n", "").replace("{{ customer }}", "acme")
PLAIN = PLAIN.replace("overwritable: true", "overwritable: [workflow.workflow_kwargs, workflow.memo]")
PLAIN = PLAIN.replace('"{{ items }}"', "[1]").replace("prefix-{{ n * 2 }}", "p").replace('"{{ timeout }}"', "10s")


def doc(text: str = TEMPLATE) -> TaskDocument:
    return TaskDocument.parse(text, FILE, env={})


def spec_errors(fn) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecErrors) as caught:
        fn()
    return [str(e) for e in caught.value.errors]


def test_template_renders_values_with_native_types() -> None:
    spec = doc().render({"customer": "acme", "items": [1, 2], "n": 4, "timeout": "30s"})
    assert spec.workflow.workflow_id == "report-acme"
    assert spec.workflow.workflow_kwargs.args == ["acme", [1, 2], "prefix-8"]
    assert spec.workflow.workflow_kwargs.start_to_close_timeout.total_seconds() == 30


def test_template_is_checked_for_structure_before_rendering() -> None:
    errors = spec_errors(lambda: doc(TEMPLATE.replace("memo:", "memoo:")))
    assert errors == [f"{FILE}: workflow.memoo: unknown key (typo?)"]


def test_missing_template_variable() -> None:
    errors = spec_errors(lambda: doc().render({"customer": "acme", "items": [], "timeout": 5}))
    assert errors == [f"{FILE}: workflow.workflow_kwargs.args.2: template error: template variable 'n' is missing"]


def test_template_args_on_non_template_task_are_refused() -> None:
    errors = spec_errors(lambda: doc(PLAIN).render({"customer": "x"}))
    assert errors == [f"{FILE}: template: this task is not a template (template: false): template_args are refused"]


def test_overwrite_on_non_overwritable_task_is_refused() -> None:
    text = PLAIN.replace("overwritable: [workflow.workflow_kwargs, workflow.memo]\n", "")
    errors = spec_errors(lambda: doc(text).render(overwrite={"workflow.workflow_kwargs.args": [2]}))
    assert errors == [
        f"{FILE}: overwritable: this task is not overwritable (overwritable: false): overwrite is refused"
    ]


def test_overwrite_by_path_with_list_index() -> None:
    spec = doc(PLAIN).render(overwrite={"workflow.workflow_kwargs.args.0": "globex", "workflow.memo.owner": "data"})
    assert spec.workflow.workflow_kwargs.args == ["globex", [1], "p"]
    assert spec.workflow.memo == {"owner": "data"}
    assert spec.workflow.workflow_id == "report-acme"


def test_overwrite_leaves_the_document_as_it_was() -> None:
    """The parsed document is cached and shared between deploys: an overwrite must not leak into the next one."""
    task = doc(PLAIN)
    task.render(overwrite={"workflow.workflow_kwargs.args.1.0": 9, "workflow.memo.owner": "data"})
    spec = task.render()
    assert spec.workflow.workflow_kwargs.args == ["acme", [1], "p"]
    assert spec.workflow.memo == {"owner": "platform"}


def test_overwrite_result_is_validated_again() -> None:
    errors = spec_errors(
        lambda: doc(PLAIN).render(overwrite={"workflow.workflow_kwargs.start_to_close_timeout": "never"})
    )
    assert errors == [
        f"{FILE}: workflow.workflow_kwargs.start_to_close_timeout: "
        "invalid duration 'never': use seconds, ISO 8601 (PT1H30M) or 1h30m"
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (
            "workflow.workflow_kwargs.nothing.here",
            "path does not exist (no mapping or list at workflow.workflow_kwargs.nothing)",
        ),
        (
            "workflow.workflow_kwargs.args.7",
            "path does not exist (no index 7 at workflow.workflow_kwargs.args.7)",
        ),
        (
            "workflow.workflow_kwargs.activity.x",
            "path does not exist (no mapping or list at workflow.workflow_kwargs.activity)",
        ),
        ("workflow.nothing.here", "not overwritable: this task allows workflow.workflow_kwargs, workflow.memo"),
        ("name", "'name' cannot be overwritten"),
    ],
)
def test_overwrite_path_that_does_not_exist(path: str, reason: str) -> None:
    assert spec_errors(lambda: doc(PLAIN).render(overwrite={path: 1})) == [f"{FILE}: {path}: {reason}"]


def test_overwrite_index_of_thousands_of_digits_is_a_clear_error() -> None:
    """int() refuses more than 4300 digits (ValueError): the index is checked before it is read."""
    path = "workflow.workflow_kwargs.args." + "9" * 5000
    errors = spec_errors(lambda: doc(PLAIN).render(overwrite={path: 1}))
    assert len(errors) == 1 and errors[0].startswith(f"{FILE}: {path}: path does not exist (no index 9999")


def test_template_argument_named_self_is_refused_clearly() -> None:
    """jinja2 names every template `self`: such an argument was a TypeError in rendering (a 500)."""
    errors = spec_errors(lambda: doc().render({"customer": "a", "items": [], "n": 1, "timeout": 1, "self": "me"}))
    assert errors == [f"{FILE}: template: 'self' is reserved by jinja2: name the argument otherwise"]


def test_overwrite_new_unknown_leaf_is_an_unknown_key() -> None:
    errors = spec_errors(lambda: doc(PLAIN).render(overwrite={"workflow.workflow_kwargs.bogus": 1}))
    assert errors == [f"{FILE}: workflow.workflow_kwargs.bogus: unknown key (typo?)"]


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
    ],
)
def test_template_injection_is_blocked(attack: str) -> None:
    errors = spec_errors(
        lambda: doc(TEMPLATE.replace("prefix-{{ n * 2 }}", attack)).render(
            {"customer": "a", "items": [], "n": 1, "timeout": 1}
        )
    )
    assert len(errors) == 1 and "workflow.workflow_kwargs.args.2: template error" in errors[0]


@pytest.mark.parametrize(
    "value",
    [
        'acme", "workflow_id": "evil',
        "acme\nworkflow_id: evil\nmemo: {owner: attacker}",
        "acme' }}{{ 7*7 }}",
        "{{ 7 * 7 }}",
    ],
)
def test_values_cannot_change_other_fields(value: str) -> None:
    spec = doc().render({"customer": value, "items": [], "n": 1, "timeout": 1})
    assert spec.workflow.workflow_id == f"report-{value}"
    assert spec.workflow.workflow_kwargs.args[0] == value
    assert spec.workflow.memo == {"owner": "platform"}
    assert spec.workflow.task_queue == "q"


def test_a_template_that_fails_on_its_arguments_is_a_clear_error() -> None:
    """`{{ n * 2 }}` with n a mapping raised TypeError out of the render: the API answered 500."""
    errors = spec_errors(lambda: doc().render({"customer": "acme", "items": [], "n": {"a": 1}, "timeout": 5}))
    [error] = errors
    assert error.startswith(f"{FILE}: workflow.workflow_kwargs.args.2: template error: TypeError: "), error
