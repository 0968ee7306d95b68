"""Every task example of the original README, written as a user would, parses with the right values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from launchpad.spec.document import TaskDocument


def parse(text: str, name: str):
    return TaskDocument.parse(text, f"deployments/tasks/{name}.yaml", env={}).spec()


def test_minimal_settings() -> None:
    spec = parse(
        """
name: minimal
runner: WorkflowRunner
workflow:
  task_queue: my-queue
  workflow_id: minimal-1
  workflow: Task
  workflow_kwargs:
    activity: say_hello
    args: ["world", 2]
""",
        "minimal",
    )
    assert spec.name == "minimal"
    assert spec.runner == "WorkflowRunner"
    assert spec.workflow.task_queue == "my-queue"
    assert spec.workflow.workflow_id == "minimal-1"
    assert spec.workflow.workflow == "Task"
    assert spec.workflow.workflow_kwargs.activity == "say_hello"
    assert spec.workflow.workflow_kwargs.args == ["world", 2]
    assert spec.server is None and spec.namespace is None
    assert not spec.overwritable and not spec.template and not spec.deploy_on_server_start


def test_global_settings() -> None:
    spec = parse(
        """
name: global
runner: ScheduledWorkflowRunner
server: prod
namespace: billing
overwritable: true
template: false
deploy_on_server_start: true
workflow:
  task_queue: q
  workflow_id: global-wf
  workflow: Task
  scheduler_id: global-schedule
  workflow_kwargs:
    activity: a
""",
        "global",
    )
    assert (spec.server, spec.namespace) == ("prod", "billing")
    assert spec.overwritable and spec.deploy_on_server_start and not spec.template
    assert spec.workflow.scheduler_id == "global-schedule"
    assert spec.is_scheduled


def test_workflow_temporal_options() -> None:
    spec = parse(
        """
name: options
runner: WorkflowRunner
workflow:
  task_queue: q
  workflow_id: options-wf
  workflow: AwaitedTask
  id_reuse_policy: TERMINATE_IF_RUNNING
  cron_schedule: "*/5 * * * *"
  request_eager_start: true
  start_signal: start
  start_signal_args: [1, "two"]
  retry_policy:
    initial_interval: {seconds: 2}
    backoff_coefficient: 2.0
    maximum_interval: 1m
    maximum_attempts: 5
    non_retryable_error_types: [ValueError]
  execution_timeout: {hours: 1}
  run_timeout: PT30M
  task_timeout: 10
  rpc_timeout: "5s"
  start_delay: 1m30s
  memo: {team: data, level: 3}
  rpc_metadata: {x-trace: abc}
  workflow_kwargs:
    activity: a
""",
        "options",
    )
    wf = spec.workflow
    assert wf.id_reuse_policy == "TERMINATE_IF_RUNNING"
    assert wf.cron_schedule == "*/5 * * * *"
    assert wf.request_eager_start is True
    assert wf.start_signal == "start" and wf.start_signal_args == [1, "two"]
    assert wf.retry_policy is not None
    assert wf.retry_policy.initial_interval == timedelta(seconds=2)
    assert wf.retry_policy.backoff_coefficient == 2.0
    assert wf.retry_policy.maximum_interval == timedelta(minutes=1)
    assert wf.retry_policy.maximum_attempts == 5
    assert wf.retry_policy.non_retryable_error_types == ["ValueError"]
    assert wf.execution_timeout == timedelta(hours=1)
    assert wf.run_timeout == timedelta(minutes=30)
    assert wf.task_timeout == timedelta(seconds=10)
    assert wf.rpc_timeout == timedelta(seconds=5)
    assert wf.start_delay == timedelta(seconds=90)
    assert wf.memo == {"team": "data", "level": 3}
    assert wf.rpc_metadata == {"x-trace": "abc"}


def test_schedule_options() -> None:
    spec = parse(
        """
name: schedule
runner: ScheduledWorkflowRunner
workflow:
  task_queue: q
  workflow_id: schedule-wf
  workflow: Task
  scheduler_id: schedule-1
  trigger_immediately: False
  tz: "Europe/Paris"
  intervals:
    - every: {hours: 1}
      offset: {minutes: 15}
    - every: 90
  calendars:
    - hour: "9-17"
      minute: [0, 30]
      day_of_week: MON-FRI
      comment: office hours
  skip:
    - month: DEC
      day_of_month: 25
  crons: ["0 12 * * *"]
  jitter: 30s
  start_at: "2030-01-01T00:00:00Z"
  end_at: "2031-01-01T00:00:00+01:00"
  catchup_window: 1d
  overlap: BUFFER_ALL
  pause_on_failure: true
  limited_actions: true
  note: "managed by launchpad"
  paused: false
  remaining_actions: 10
  workflow_kwargs:
    activity: a
""",
        "schedule",
    )
    wf = spec.workflow
    assert wf.tz == "Europe/Paris"
    assert [(i.every, i.offset) for i in wf.intervals] == [
        (timedelta(hours=1), timedelta(minutes=15)),
        (timedelta(seconds=90), None),
    ]
    calendar = wf.calendars[0]
    assert calendar.hour == [{"start": 9, "end": 17, "step": 1}]
    assert calendar.minute == [{"start": 0, "end": 0, "step": 1}, {"start": 30, "end": 30, "step": 1}]
    assert calendar.day_of_week == [{"start": 1, "end": 5, "step": 1}]
    assert calendar.comment == "office hours"
    assert wf.skip[0].month == [{"start": 12, "end": 12, "step": 1}]
    assert wf.crons == ["0 12 * * *"]
    assert wf.jitter == timedelta(seconds=30)
    assert wf.start_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert wf.end_at == datetime(2030, 12, 31, 23, tzinfo=UTC)
    assert wf.catchup_window == timedelta(days=1)
    assert wf.overlap == "BUFFER_ALL"
    assert wf.pause_on_failure and wf.limited_actions
    assert wf.note == "managed by launchpad"
    assert wf.paused is False
    assert wf.remaining_actions == 10
    assert wf.trigger_immediately is False


def test_schedule_defaults_time_zone_to_utc() -> None:
    spec = parse(
        """
name: utc
runner: ScheduledWorkflowRunner
workflow: {task_queue: q, workflow_id: w, workflow: Task, scheduler_id: s, workflow_kwargs: {activity: a}}
""",
        "utc",
    )
    assert spec.workflow.tz == "UTC"
    assert spec.workflow.paused is None and spec.workflow.note is None


def test_workflow_kwargs_options() -> None:
    spec = parse(
        """
name: kwargs
runner: WorkflowRunner
workflow:
  task_queue: q
  workflow_id: kwargs-wf
  workflow: Task
  workflow_kwargs:
    activity: process
    args: [1, [2, 3], {k: v}]
    activity_id: my-activity
    task_queue: other-queue
    at_start:
      chain_with:
        - handle:
            workflow: AwaitedTask
            workflow_id: waiting-wf
          signal:
            signal: start
            signal_args: [42]
    at_end:
      renew: true
      chain_with:
        - handle: {workflow: TaskDispatcher, workflow_id: dispatcher}
          signal: {signal: queue}
    retry_policy: {maximum_attempts: 3}
    versioning_intent: COMPATIBLE
    cancellation_type: WAIT_CANCELLATION_COMPLETED
    schedule_to_close_timeout: 1h
    schedule_to_start_timeout: 10m
    start_to_close_timeout: 30s
    heartbeat_timeout: 5s
""",
        "kwargs",
    )
    kw = spec.workflow.workflow_kwargs
    assert kw.activity == "process" and kw.args == [1, [2, 3], {"k": "v"}]
    assert kw.activity_id == "my-activity" and kw.task_queue == "other-queue"
    chain = kw.at_start.chain_with[0]
    assert (chain.handle.workflow, chain.handle.workflow_id) == ("AwaitedTask", "waiting-wf")
    assert (chain.signal.signal, chain.signal.signal_args) == ("start", [42])
    assert kw.at_end.renew is True
    assert kw.at_end.chain_with[0].signal.signal_args == []
    assert kw.retry_policy is not None and kw.retry_policy.maximum_attempts == 3
    assert kw.versioning_intent == "COMPATIBLE"
    assert kw.cancellation_type == "WAIT_CANCELLATION_COMPLETED"
    assert kw.schedule_to_close_timeout == timedelta(hours=1)
    assert kw.schedule_to_start_timeout == timedelta(minutes=10)
    assert kw.start_to_close_timeout == timedelta(seconds=30)
    assert kw.heartbeat_timeout == timedelta(seconds=5)


def test_batch_settings() -> None:
    spec = parse(
        """
name: batch
runner: WorkflowRunner
workflow:
  task_queue: q
  workflow_id: batch-wf
  workflow: BatchTask
  workflow_kwargs:
    batch:
      - activity: one
        args: [1]
      - activity: two
        start_to_close_timeout: 1m
""",
        "batch",
    )
    batch = spec.workflow.workflow_kwargs.batch
    assert batch is not None
    assert [item.activity for item in batch] == ["one", "two"]
    assert batch[1].start_to_close_timeout == timedelta(minutes=1)
    assert batch[0].cancellation_type == "TRY_CANCEL"
