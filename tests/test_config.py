"""The configuration file: seed sections, new sections, default resolution, file lookup."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from launchpad.config import config_path, load_config, parse_config
from launchpad.errors import SpecErrors, UnknownTarget

SEED = """
temporalio:
  servers:
    - name: main
      ip: temporal.internal
      port: 7233
      gui_port: 8080
      namespaces:
        - name: billing
          retention: 86400
        - name: ops
      default_namespace: ops
    - name: backup
      ip: 10.0.0.2
      port: 7234
      gui_port: 8081
  default_server: backup
watcher:
  modules:
    tasks:
      basepaths: [./my/tasks]
      skips: [./my/tasks/old.yaml]
    activities:
      basepaths: [./src/temporal/activities.py]
  polling:
    on_server_start: true
    automatic_refresh: true
    polling_interval: 30
authenticator:
  db: ":memory:"
  base_users:
    - username: test
      password: test
      auth_level: [user, super user]
      max_age: 600
sanic:
  app:
    secret: xxxxxxx
"""


def test_seed_configuration_is_accepted() -> None:
    config = parse_config(SEED, "launchpad_configs.yaml", env={})
    main = config.temporalio.server("main")
    assert main.address == "temporal.internal:7233" and main.ui_url == "http://temporal.internal:8080"
    assert [(ns.name, ns.retention) for ns in main.namespaces] == [
        ("billing", timedelta(days=1)),
        ("ops", timedelta(days=3)),
    ]
    assert config.watcher.modules["tasks"].skips == ["./my/tasks/old.yaml"]
    assert config.watcher.polling.polling_interval == timedelta(seconds=30)
    assert config.watcher.polling.on_server_start and config.watcher.polling.automatic_refresh
    assert config.tasks_dir == "./my/tasks"
    assert config.workers_dir == "deployments/workers"
    assert config.code_paths == ["./src/temporal/activities.py"]
    assert config.authenticator is not None
    user = config.authenticator.base_users[0]
    assert user.auth_level == ["user", "super user"] and user.max_age == 600
    assert config.secret is not None and config.secret.get_secret_value() == "xxxxxxx"
    assert "xxxxxxx" not in repr(config) and "test" not in repr(user.password)


def test_default_resolution() -> None:
    config = parse_config(SEED, "c.yaml", env={}).temporalio
    assert config.resolve()[0].name == "backup" and config.resolve()[1] == "default"
    assert config.resolve("main")[1] == "ops"
    assert config.resolve("main", "billing")[1] == "billing"
    with pytest.raises(UnknownTarget):
        config.resolve("nope")
    with pytest.raises(UnknownTarget):
        config.resolve("main", "nope")


def test_first_server_and_first_namespace_without_defaults() -> None:
    config = parse_config(
        "temporalio:\n  servers:\n    - name: a\n      namespaces: [{name: x}, {name: y}]\n    - name: b\n",
        "c.yaml",
        env={},
    ).temporalio
    server, namespace = config.resolve()
    assert (server.name, namespace) == ("a", "x")


def test_one_server_one_namespace_are_the_defaults() -> None:
    config = parse_config("temporalio:\n  servers:\n    - name: only\n      namespaces: [{name: solo}]\n", "c", env={})
    assert config.temporalio.resolve()[0].name == "only" and config.temporalio.resolve()[1] == "solo"


def test_new_sections() -> None:
    config = parse_config(
        """
app:
  secret: "${JWT_SECRET}"
repository:
  url: https://git.example.com/team/deployments.git
  branch: prod
  tasks_path: tasks
state:
  backend: sqlite
  path: /var/lib/launchpad/state.db
temporalio:
  servers:
    - name: cloud
      ip: ns.acct.tmprl.cloud
      port: 7233
      api_key: "${TEMPORAL_API_KEY}"
      tls:
        client_cert: /certs/client.pem
        client_key: /certs/client.key
authenticator:
  base_users:
    - username: ops
      password_hash: "$argon2id$v=19$m=65536,t=3,p=4$abc$def"
""",
        "c.yaml",
        env={"JWT_SECRET": "s3cret", "TEMPORAL_API_KEY": "key"},
    )
    assert config.secret is not None and config.secret.get_secret_value() == "s3cret"
    assert config.repository.branch == "prod" and config.tasks_dir == "tasks"
    assert config.state.path == "/var/lib/launchpad/state.db"
    server = config.temporalio.server()
    assert server.api_key is not None and server.api_key.get_secret_value() == "key"
    assert server.tls is not None and server.tls.client_key == "/certs/client.key"


def test_config_errors_name_the_key() -> None:
    with pytest.raises(SpecErrors) as caught:
        parse_config("temporalio:\n  default_server: x\n  servers:\n    - name: a\n      prot: 1\n", "c.yaml", env={})
    assert sorted(str(e) for e in caught.value.errors) == ["c.yaml: temporalio.servers.0.prot: unknown key (typo?)"]
    with pytest.raises(SpecErrors) as caught:
        parse_config("authenticator:\n  base_users:\n    - username: u\n", "c.yaml", env={})
    assert "exactly one of password or password_hash" in str(caught.value)


def test_config_path_lookup(tmp_path: Path) -> None:
    assert config_path("x.yaml", {}) == Path("x.yaml")
    assert config_path(None, {"LAUNCHPAD_CONFIG": "a.yaml", "CONFIGS_FILEPATH": "b.yaml"}) == Path("a.yaml")
    assert config_path(None, {"CONFIGS_FILEPATH": "b.yaml"}) == Path("b.yaml")
    assert config_path(None, {}) == Path("launchpad_configs.yaml")
    file = tmp_path / "conf.yaml"
    file.write_text("state: {path: here.db}\n")
    config = load_config(None, {"CONFIGS_FILEPATH": str(file)})
    assert config.base_dir == tmp_path and config.path(config.state.path) == tmp_path / "here.db"
    with pytest.raises(SpecErrors):
        load_config(tmp_path / "missing.yaml", {})


@pytest.mark.parametrize("folder", ["/", "/srv/tasks", "../elsewhere", "deployments/../../x", "a\\b", ""])
def test_a_tasks_folder_outside_the_repository_is_refused(folder: str) -> None:
    """The API writes task files into this folder: `/` made a PUT write /NAME.yaml on the host."""
    with pytest.raises(SpecErrors) as caught:
        parse_config(f"repository: {{tasks_path: '{folder}'}}\n", "c.yaml", env={})
    [error] = caught.value.errors
    assert error.path == "repository.tasks_path" and "folder of the repository" in error.message


def test_a_tasks_folder_of_the_repository_is_accepted() -> None:
    for folder in (".", "deployments/tasks", "teams/a/tasks"):
        assert parse_config(f"repository: {{tasks_path: '{folder}'}}\n", "c.yaml", env={}).tasks_dir == folder


def test_a_notification_target_retries_twice_by_default() -> None:
    [target] = parse_config(
        "notifications: [{name: team, url: 'https://hooks.example.test/x'}]\n", "c.yaml", env={}
    ).notifications
    assert (target.retries, target.timeout) == (2, timedelta(seconds=5))
