"""The configuration file (`launchpad_configs.yaml`): servers, watcher, auth, repository, state.

The seed's sections are accepted as written by the original launchpad; new
sections have defaults so that an empty file is a valid configuration of one
local dev server.
"""

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import ByteSize, Field, PrivateAttr, SecretStr, model_validator

from launchpad.errors import SpecError, SpecErrors, UnknownTarget
from launchpad.render import inject_env
from launchpad.spec.base import StrictModel, empty_list
from launchpad.spec.reading import read_yaml, validate
from launchpad.types import Duration

DEFAULT_CONFIG_FILE = "launchpad_configs.yaml"
DEFAULT_NAMESPACE = "default"
AuthLevel = Literal["user", "super user"]
MIB = 1 << 20


class NamespaceConfig(StrictModel):
    name: str
    retention: Duration = timedelta(days=3)


class TlsConfig(StrictModel):
    """Client certificate/key and CA, as file paths (env references allowed)."""

    client_cert: str | None = None
    client_key: str | None = None
    server_root_ca_cert: str | None = None
    domain: str | None = None


class ServerConfig(StrictModel):
    name: str
    ip: str = "localhost"
    port: int = Field(default=7233, ge=1, le=65535)
    gui_port: int | None = Field(default=8233, ge=1, le=65535)
    namespaces: list[NamespaceConfig] = empty_list()
    default_namespace: str | None = None
    tls: TlsConfig | None = None
    api_key: SecretStr | None = None
    proxy: str | None = None

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{self.ip}:{self.gui_port}" if self.gui_port else None

    @property
    def namespace_names(self) -> list[str]:
        return [ns.name for ns in self.namespaces] or [DEFAULT_NAMESPACE]

    @property
    def resolved_default_namespace(self) -> str:
        """The seed's rule: `default_namespace`, else the first listed, else `default`."""
        return self.default_namespace or self.namespace_names[0]

    @model_validator(mode="after")
    def _default_is_known(self) -> Self:
        names = {*self.namespace_names, DEFAULT_NAMESPACE}
        if self.default_namespace and self.default_namespace not in names:
            raise ValueError(f"default_namespace {self.default_namespace!r} is not in namespaces")
        return self


class TemporalioConfig(StrictModel):
    default_server: str | None = None
    servers: list[ServerConfig] = Field(default_factory=lambda: [ServerConfig(name="local")], min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        names = [server.name for server in self.servers]
        if len(set(names)) != len(names):
            raise ValueError(f"server names must be unique: {names}")
        if self.default_server and self.default_server not in names:
            raise ValueError(f"default_server {self.default_server!r} is not in servers")
        return self

    def server(self, name: str | None = None) -> ServerConfig:
        """The named server, or the default one (`default_server`, else the first listed)."""
        wanted = name or self.default_server or self.servers[0].name
        for server in self.servers:
            if server.name == wanted:
                return server
        raise UnknownTarget(f"unknown server {wanted!r}; configured: {[s.name for s in self.servers]}")

    def resolve(self, server: str | None = None, namespace: str | None = None) -> tuple[ServerConfig, str]:
        """The (server, namespace) a task or request lands on, by the default rules."""
        target = self.server(server)
        ns = namespace or target.resolved_default_namespace
        if ns not in {*target.namespace_names, DEFAULT_NAMESPACE}:
            raise UnknownTarget(f"unknown namespace {ns!r} on server {target.name!r}")
        return target, ns


class ModuleGroup(StrictModel):
    basepaths: list[str] = empty_list()
    skips: list[str] = empty_list()


def _default_modules() -> dict[str, ModuleGroup]:
    return {
        "workers": ModuleGroup(basepaths=["deployments/workers"]),
        "tasks": ModuleGroup(basepaths=["deployments/tasks"]),
        "workflows": ModuleGroup(),
        "runners": ModuleGroup(),
        "activities": ModuleGroup(),
    }


class PollingConfig(StrictModel):
    on_server_start: bool = Field(
        default=False, description="kept for compatibility: `launchpad start` and `dev` always sync when they start"
    )
    automatic_refresh: bool = Field(
        default=False, description="`launchpad worker` follows the repository (as with --follow)"
    )
    polling_interval: Duration = Field(
        default=timedelta(seconds=600),
        description="between two syncs of `reconcile --watch` and `start`, and two fetches of `worker --follow`",
    )


class WatcherConfig(StrictModel):
    modules: dict[str, ModuleGroup] = Field(default_factory=_default_modules)
    polling: PollingConfig = Field(default_factory=PollingConfig)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Self:
        for key, group in _default_modules().items():
            self.modules.setdefault(key, group)
        return self

    def paths(self, group: str) -> list[str]:
        return list(self.modules[group].basepaths) if group in self.modules else []


def _user_level() -> list[AuthLevel]:
    return ["user"]


class UserConfig(StrictModel):
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    password_hash: str | None = None
    auth_level: list[AuthLevel] = Field(default_factory=_user_level)
    max_age: int = Field(default=600, gt=0, description="token lifetime in seconds")

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.password is None) == (self.password_hash is None):
            raise ValueError("give exactly one of password or password_hash")
        return self


class AuthenticatorConfig(StrictModel):
    """Users: SQLite (`db`, a file or `:memory:`) or DynamoDB (`table`)."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    db: str = ":memory:"
    table: str = "launchpad-users"
    base_users: list[UserConfig] = empty_list()


class SecretHolder(StrictModel):
    secret: SecretStr | None = None


class AppSection(StrictModel):
    app: SecretHolder = Field(default_factory=SecretHolder)


class RepositoryConfig(StrictModel):
    """Where the task/worker YAML lives. `url` is a git URL or a local path."""

    url: str = "."
    branch: str = "main"
    tasks_path: str | None = None
    workers_path: str | None = None
    code_paths: list[str] | None = None
    token_env: str = "LAUNCHPAD_GIT_TOKEN"
    ssh_key_env: str = "LAUNCHPAD_GIT_SSH_KEY"
    cache_dir: str = ".launchpad/repo"


class ReconcilerConfig(StrictModel):
    """How syncs behave (Argo CD's names where they exist)."""

    self_heal: bool = True
    prune: bool = True
    allow_empty: bool = False
    concurrency: int = Field(default=32, ge=1, le=512)
    lock_ttl: Duration = timedelta(minutes=5)


class WebhookConfig(StrictModel):
    """`POST /webhooks/git`: disabled (404) until a secret is set."""

    secret: SecretStr | None = None
    body_limit: ByteSize = Field(
        default=ByteSize(25 * MIB), description="largest delivery (bytes, or 25MiB): GitHub caps its payloads at 25 MB"
    )
    min_interval: Duration = Field(
        default=timedelta(seconds=10),
        description="webhook-triggered syncs start at most once per this; pushes in between get one sync after it",
    )


class ApiConfig(StrictModel):
    """The HTTP API's request limits and the proxies it trusts."""

    body_limit: ByteSize = Field(
        default=ByteSize(MIB), description="largest request body (bytes, or 512KiB, 2MB); a larger one is a 413"
    )
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="proxies whose X-Forwarded-For/-Proto headers are believed (uvicorn's forwarded_allow_ips); "
        "none by default",
    )


class StateConfig(StrictModel):
    """SQLite (`path`, the default) or DynamoDB (`table`: one table, see launchpad.state.dynamodb)."""

    backend: Literal["sqlite", "dynamodb"] = "sqlite"
    path: str = ".launchpad/state.db"
    table: str = "launchpad-state"


class Config(StrictModel):
    temporalio: TemporalioConfig = Field(default_factory=TemporalioConfig)
    watcher: WatcherConfig = Field(default_factory=WatcherConfig)
    authenticator: AuthenticatorConfig | None = None
    sanic: AppSection | None = None
    app: SecretHolder | None = None
    repository: RepositoryConfig = Field(default_factory=RepositoryConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    reconciler: ReconcilerConfig = Field(default_factory=ReconcilerConfig)
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _secrets_resolved: bool = PrivateAttr(default=False)

    @property
    def base_dir(self) -> Path:
        """The folder of the configuration file: relative paths start there."""
        return self._base_dir

    @model_validator(mode="after")
    def _auth_needs_secret(self) -> Self:
        if self.authenticator is not None and self.secret is None:
            raise ValueError("authenticator needs a JWT secret at sanic.app.secret (or app.secret)")
        return self

    @property
    def secret(self) -> SecretStr | None:
        """The JWT secret: `sanic.app.secret` (seed) or `app.secret`."""
        if self.sanic and self.sanic.app.secret:
            return self.sanic.app.secret
        return self.app.secret if self.app else None

    def resolve_secrets(self, resolve: Callable[[str], str] | None = None) -> Self:
        """Replace secret references (`ssm:…`, `secretsmanager:…`, see launchpad.secrets) by their
        values, in place and once: the JWT secret, `webhook.secret` and every server's `api_key`.
        Plain values pass through; without references nothing is imported or fetched."""
        if self._secrets_resolved:
            return self
        if resolve is None:
            from launchpad.secrets import resolve as resolve_reference

            resolve = resolve_reference
        holders: list[tuple[object, str]] = [(self.webhook, "secret")]
        holders += [(holder, "secret") for holder in (self.sanic.app if self.sanic else None, self.app) if holder]
        holders += [(server, "api_key") for server in self.temporalio.servers]
        for holder, name in holders:
            value = getattr(holder, name)
            if value is not None:
                setattr(holder, name, SecretStr(resolve(value.get_secret_value())))
        self._secrets_resolved = True
        return self

    @property
    def tasks_dir(self) -> str:
        return self.repository.tasks_path or _first(self.watcher.paths("tasks"), "deployments/tasks")

    @property
    def workers_dir(self) -> str:
        return self.repository.workers_path or _first(self.watcher.paths("workers"), "deployments/workers")

    @property
    def code_paths(self) -> list[str]:
        if self.repository.code_paths is not None:
            return self.repository.code_paths
        return [p for g in ("activities", "workflows", "runners") for p in self.watcher.paths(g)]

    @property
    def code_skips(self) -> list[str]:
        return [
            p for g in ("activities", "workflows", "runners") for p in self.watcher.modules.get(g, ModuleGroup()).skips
        ]

    def path(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        return self.base_dir / relative


def _first(paths: list[str], default: str) -> str:
    return paths[0] if paths else default


def config_path(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] = os.environ) -> Path:
    """`--config`, else `LAUNCHPAD_CONFIG`, else `CONFIGS_FILEPATH` (seed), else the default."""
    chosen = explicit or env.get("LAUNCHPAD_CONFIG") or env.get("CONFIGS_FILEPATH") or DEFAULT_CONFIG_FILE
    return Path(chosen)


def parse_config(text: str, file: str, env: Mapping[str, str] | None = None) -> Config:
    doc, _ = inject_env(read_yaml(text, file) if text.strip() else {}, file, os.environ if env is None else env)
    return validate(Config, doc, file)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration; a missing default file means the embedded defaults."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    if not file.exists():
        if path is None and "LAUNCHPAD_CONFIG" not in env and "CONFIGS_FILEPATH" not in env:
            return Config()
        raise SpecErrors([SpecError(str(file), "<file>", "configuration file not found")])
    config = parse_config(file.read_text(), str(file), env)
    config._base_dir = file.resolve().parent
    return config
