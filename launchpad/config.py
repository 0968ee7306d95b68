"""The configuration file (`launchpad_configs.yaml`): servers, watcher, auth, repository, state.

The seed's sections are accepted as written by the original launchpad; new
sections have defaults so that an empty file is a valid configuration of one
local dev server.
"""

import hashlib
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal, Self, get_args
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator, ByteSize, Field, PrivateAttr, SecretStr, field_validator, model_validator

from launchpad.errors import SpecError, SpecErrors, UnknownTarget
from launchpad.render import inject_env
from launchpad.spec.base import StrictModel, empty_list
from launchpad.spec.positions import locate
from launchpad.spec.reading import read_yaml, validate
from launchpad.types import Duration

DEFAULT_CONFIG_FILE = "launchpad_configs.yaml"
DEFAULT_NAMESPACE = "default"
AuthLevel = Literal["user", "super user"]
MIB = 1 << 20


def _web_address(value: str) -> str:
    """Addresses the dashboard links to: http(s) only, never `javascript:` or a relative path."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


WebAddress = Annotated[str, AfterValidator(_web_address)]


def _repository_folder(value: str) -> str:
    """A folder inside the repository: a file the API writes there must stay in the work tree."""
    parts = PurePosixPath(value).parts
    if not value or value.startswith("/") or "\\" in value or ".." in parts:
        raise ValueError("must be a folder of the repository: a relative path without `..` (`.` is its root)")
    return value


RepositoryFolder = Annotated[str, AfterValidator(_repository_folder)]


class NamespaceConfig(StrictModel):
    name: str = Field(description="a namespace launchpad registers on the server at start")
    retention: Duration = Field(
        default=timedelta(days=3),
        description="how long Temporal keeps closed workflows (`workflow_execution_retention_period`)",
    )


class TlsConfig(StrictModel):
    """Client certificate/key and CA, as file paths (env references allowed)."""

    client_cert: str | None = Field(
        default=None, description="PEM file of the client certificate (`TLSConfig.client_cert`)"
    )
    client_key: str | None = Field(default=None, description="PEM file of its key (`TLSConfig.client_private_key`)")
    server_root_ca_cert: str | None = Field(
        default=None, description="PEM file of the server's CA (`TLSConfig.server_root_ca_cert`); unset: the system's"
    )
    domain: str | None = Field(
        default=None, description="`TLSConfig.domain`: the name the server's certificate must carry; unset: `ip`"
    )


def parse_proxy(value: str) -> tuple[str, tuple[str, str] | None]:
    """An HTTP CONNECT proxy, `host:port` or `http://[user:password@]host:port`, as (`host:port`,
    (user, password) or None). A refusal never repeats the value: it may hold a password."""
    url = urlsplit(value if "://" in value else f"http://{value}")
    if url.scheme != "http":
        raise ValueError(f"scheme {url.scheme!r} is not supported: the proxy must speak HTTP CONNECT (http://)")
    try:
        port = url.port
    except ValueError:
        port = None
    if not url.hostname or port is None or url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError("give host:port or http://[user:password@]host:port")
    auth = (unquote(url.username), unquote(url.password or "")) if url.username else None
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return f"{host}:{port}", auth


class ServerConfig(StrictModel):
    name: str = Field(description="the server's name, as tasks and workers name it in `server`")
    ip: str = Field(default="localhost", description="host name or address of the Temporal frontend")
    port: int = Field(default=7233, ge=1, le=65535, description="the frontend's gRPC port")
    gui_port: int | None = Field(
        default=8233, ge=1, le=65535, description="the Temporal UI's port, for links (dev server 8233, compose 8080)"
    )
    ui: WebAddress | None = Field(
        default=None, description="the Temporal UI's address when it is not http://{ip}:{gui_port} (https, a proxy)"
    )
    namespaces: list[NamespaceConfig] = empty_list("namespaces registered at start; `default` always exists")
    default_namespace: str | None = Field(
        default=None, description="the namespace of tasks that name none; unset: the first listed, else `default`"
    )
    tls: TlsConfig | None = Field(
        default=None, description="`Client.connect(tls=)`; unset: plain TCP, or TLS with the system's CAs for api_key"
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="`Client.connect(api_key=)` (Temporal Cloud); may be an `ssm:` or `secretsmanager:` reference",
    )
    proxy: str | None = Field(
        default=None,
        description="HTTP CONNECT proxy to reach the server through (`Client.connect(http_connect_proxy_config=)`): "
        "`host:port` or `http://user:password@host:port`",
    )

    @field_validator("proxy")
    @classmethod
    def _proxy_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_proxy(value)
        return value

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def proxy_target(self) -> tuple[str, tuple[str, str] | None] | None:
        """The proxy's `host:port` and basic auth; None without a proxy."""
        return parse_proxy(self.proxy) if self.proxy else None

    @property
    def ui_url(self) -> str | None:
        if self.ui:
            return self.ui.rstrip("/")
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
    default_server: str | None = Field(
        default=None, description="the server of tasks and workers that name none; unset: the first listed"
    )
    servers: list[ServerConfig] = Field(
        default_factory=lambda: [ServerConfig(name="local")],
        min_length=1,
        description="the Temporal servers launchpad talks to; default: one at localhost:7233",
    )

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
    basepaths: list[str] = empty_list("files and folders of this group, relative to the configuration file")
    skips: list[str] = empty_list("files under basepaths left out")


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
    modules: dict[str, ModuleGroup] = Field(
        default_factory=_default_modules,
        description="groups of paths: `workers` and `tasks` (YAML), `activities`, `workflows`, `runners` (Python)",
    )
    polling: PollingConfig = Field(default_factory=PollingConfig, description="how often the repository is synced")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Self:
        for key, group in _default_modules().items():
            self.modules.setdefault(key, group)
        return self

    def paths(self, group: str) -> list[str]:
        return list(self.modules[group].basepaths) if group in self.modules else []


def _user_level() -> list[AuthLevel]:
    return ["user"]


MAX_USERNAME = 100  # characters: every store can key a name this long (DynamoDB's sort key: 1,024 bytes)


class UserConfig(StrictModel):
    username: str = Field(min_length=1, max_length=MAX_USERNAME, description="the login name")
    password: SecretStr | None = Field(
        default=None, description="the password in clear (original format); stored hashed"
    )
    password_hash: str | None = Field(default=None, description="an argon2 hash of the password, instead of `password`")
    auth_level: list[AuthLevel] = Field(
        default_factory=_user_level,
        description="`user` deploys and reads; `super user` may also edit task files, users and namespaces, "
        "and cancel, terminate or delete runs and schedules",
    )
    max_age: int = Field(default=600, gt=0, description="token lifetime in seconds")

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.password is None) == (self.password_hash is None):
            raise ValueError("give exactly one of password or password_hash")
        return self


class AuthenticatorConfig(StrictModel):
    """Users: SQLite (`db`, a file or `:memory:`) or DynamoDB (`table`)."""

    backend: Literal["sqlite", "dynamodb"] = Field(default="sqlite", description="where users are stored")
    db: str = Field(
        default=":memory:", description="sqlite: the file, relative to the configuration file, or `:memory:`"
    )
    table: str = Field(default="launchpad-users", description="dynamodb: the table")
    base_users: list[UserConfig] = empty_list("users written to the store at start")


class SecretHolder(StrictModel):
    secret: SecretStr | None = Field(
        default=None,
        description="the key that signs the API's tokens (JWT, HS256); may be an `ssm:` or `secretsmanager:` reference",
    )


class AppSection(StrictModel):
    app: SecretHolder = Field(default_factory=SecretHolder, description="holds `secret`")


class RepositoryConfig(StrictModel):
    """Where the task/worker YAML lives. `url` is a git URL or a local path."""

    url: str = Field(default=".", description="a git URL, or a path relative to the configuration file")
    branch: str = Field(default="main", description="the branch that is synced and deployed from")
    tasks_path: RepositoryFolder | None = Field(
        default=None, description="folder of the task files in the repository; unset: watcher.modules.tasks"
    )
    workers_path: RepositoryFolder | None = Field(
        default=None, description="folder of the worker files in the repository; unset: watcher.modules.workers"
    )
    code_paths: list[str] | None = Field(
        default=None, description="Python files and folders of your components; unset: the watcher's code groups"
    )
    token_env: str = Field(
        default="LAUNCHPAD_GIT_TOKEN", description="the environment variable holding a token for an https:// url"
    )
    ssh_key_env: str = Field(
        default="LAUNCHPAD_GIT_SSH_KEY", description="the environment variable holding an SSH private key"
    )
    cache_dir: str = Field(
        default=".launchpad/repo", description="where the repository is cloned, relative to the configuration file"
    )
    web_url: WebAddress | None = Field(
        default=None,
        description="commit links of the dashboard: a template with {sha} (https://github.com/org/repo/commit/{sha}),"
        " or the repository's web address (/commit/{sha} is appended)",
    )

    def commit_url(self, sha: str) -> str | None:
        """Where a browser shows a commit, when `web_url` is configured."""
        if not self.web_url:
            return None
        if "{sha}" in self.web_url:
            return self.web_url.replace("{sha}", sha)
        return f"{self.web_url.rstrip('/')}/commit/{sha}"


class ScopeConfig(StrictModel):
    """A part of the managed set that a reconciler of its own syncs (`launchpad reconcile --scope NAME`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", description="the scope's name (its lease's)")
    folders: list[str] = empty_list("only the task and worker files under these folders of the repository")
    namespaces: list[str] = empty_list("only the objects on these namespaces (`namespace` or `server/namespace`)")


class ReconcilerConfig(StrictModel):
    """How syncs behave (Argo CD's names where they exist)."""

    self_heal: bool = Field(default=True, description="restore what was changed or deleted by hand in Temporal")
    prune: bool = Field(default=True, description="delete the schedule of a deleted task file")
    allow_empty: bool = Field(
        default=False, description="allow a sync that would delete every managed object (otherwise refused)"
    )
    concurrency: int = Field(default=32, ge=1, le=512, description="objects applied at once during a sync")
    lock_ttl: Duration = Field(
        default=timedelta(seconds=30),
        description="how long the sync lease lasts unless its holder renews it (every third of it); "
        "a sync that dies holds it up to this long (less on the same host, where its death is seen at once)",
    )
    instance: str | None = Field(
        default=None,
        max_length=100,
        description="the name this launchpad marks its objects with in Temporal; launchpads that share a "
        "namespace must have different names (default: derived from the repository's url and branch)",
    )
    scopes: list[ScopeConfig] = empty_list(
        "parts of the managed set that reconcilers of their own sync, each with its own lease (docs/scaling.md)"
    )
    drift_interval: Duration = Field(
        default=timedelta(minutes=3),
        description="how often a sync compares every managed object with Temporal (a drift scan), "
        "to heal hand edits and deletions; other syncs plan only what changed in git",
    )
    verify_interval: Duration = Field(
        default=timedelta(hours=1),
        description="how often a drift scan also describes every managed schedule, to heal hand edits of what a "
        "listing does not show (a schedule's action: workflow, arguments, ids, timeouts, retries; its policies); "
        "`launchpad reconcile --hard` always does",
    )


class WebhookConfig(StrictModel):
    """`POST /webhooks/git`: disabled (404) until a secret is set."""

    secret: SecretStr | None = Field(
        default=None,
        description="the shared secret of the git host's webhook (GitHub, GitLab, Gitea); "
        "may be an `ssm:` or `secretsmanager:` reference",
    )
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


class MetricsConfig(StrictModel):
    """`GET /metrics` (Prometheus text format); on Lambda, CloudWatch EMF log lines instead."""

    enabled: bool = Field(default=True, description="record and serve metrics")
    bearer_token: SecretStr | None = Field(
        default=None,
        description="when set, `/metrics` answers only requests with `Authorization: Bearer <token>` "
        "(give it from the environment: `${LAUNCHPAD_METRICS_TOKEN}`); unset: open, as Argo CD and Flux serve theirs",
    )
    pushgateway: SecretStr | None = Field(
        default=None,
        description="a Prometheus Pushgateway (`http://pushgateway:9091`, credentials as `https://user:pass@host`; "
        "from the environment: `${LAUNCHPAD_PUSHGATEWAY}`): the one-shot commands (`launchpad deploy`, `reconcile` "
        "without `--watch`, `hooks run`) push what they recorded there as they end (job `launchpad`, grouped by "
        "command and instance)",
    )


NotificationEvent = Literal["sync_failed", "degraded", "recovered", "drift_healed", "pruned", "deploy_failed"]
NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = get_args(NotificationEvent)


def _every_event() -> list[NotificationEvent]:
    return list(NOTIFICATION_EVENTS)


class NotificationTarget(StrictModel):
    """Where notifications go (see docs/observability.md for the payloads)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="the target's name: in metrics, logs and `launchpad notify test NAME`",
    )
    url: SecretStr = Field(
        description="an http(s) address (a Slack, Mattermost or Rocket.Chat incoming webhook, or your own "
        "receiver), or any Apprise URL (`apprise://`, `discord://`, `msteams://`, `mailto://`... with the "
        "`apprise` extra); a secret: give it from the environment (`${SLACK_WEBHOOK_URL}`)"
    )
    format: Literal["slack", "generic"] = Field(
        default="generic",
        description="`slack`: the incoming-webhook JSON (`text` and `attachments`); `generic`: launchpad's own "
        "JSON; Apprise URLs format their own messages",
    )
    secret: SecretStr | None = Field(
        default=None,
        description="generic format: sign the body with HMAC-SHA256 in the `X-Launchpad-Signature: "
        "sha256=<hex>` header",
    )
    events: list[NotificationEvent] = Field(
        default_factory=_every_event, min_length=1, description="the events sent to this target (default: all)"
    )
    timeout: Duration = Field(default=timedelta(seconds=5), description="the most one attempt waits for an answer")
    retries: int = Field(default=2, ge=0, le=5, description="attempts after a failed one, with backoff")


class StateConfig(StrictModel):
    """SQLite (`path`, the default) or DynamoDB (`table`: one table, see launchpad.state.dynamodb)."""

    backend: Literal["sqlite", "dynamodb"] = Field(default="sqlite", description="where sync state is stored")
    path: str = Field(default=".launchpad/state.db", description="sqlite: the file, relative to the configuration file")
    table: str = Field(default="launchpad-state", description="dynamodb: the table")


class Config(StrictModel):
    temporalio: TemporalioConfig = Field(default_factory=TemporalioConfig, description="Temporal servers, namespaces")
    watcher: WatcherConfig = Field(default_factory=WatcherConfig, description="where the files are; how often to sync")
    authenticator: AuthenticatorConfig | None = Field(
        default=None, description="the API's users; unset: the API is open, and served on loopback only"
    )
    sanic: AppSection | None = Field(default=None, description="the JWT secret at `sanic.app.secret` (original format)")
    app: SecretHolder | None = Field(default=None, description="the JWT secret at `app.secret`")
    repository: RepositoryConfig = Field(default_factory=RepositoryConfig, description="the git repository to sync")
    state: StateConfig = Field(default_factory=StateConfig, description="where the reconciler records what it applied")
    reconciler: ReconcilerConfig = Field(default_factory=ReconcilerConfig, description="how syncs behave")
    webhook: WebhookConfig = Field(default_factory=WebhookConfig, description="`POST /webhooks/git`")
    api: ApiConfig = Field(default_factory=ApiConfig, description="the HTTP API's request limits and trusted proxies")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="Prometheus metrics (EMF on Lambda)")
    notifications: list[NotificationTarget] = empty_list(
        "where sync failures, degradations, recoveries, healed drift, prunes and failed deploys are sent"
    )
    public_url: WebAddress | None = Field(
        default=None,
        description="the address people reach this launchpad's API and dashboard at, for links in notifications",
    )
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

    @model_validator(mode="after")
    def _unique_targets(self) -> Self:
        names = [target.name for target in self.notifications]
        if len(set(names)) != len(names):
            raise ValueError(f"notification target names must be unique: {names}")
        return self

    def _secret_fields(self) -> list[tuple[object, str]]:
        """(holder, attribute) of every secret that may be a reference to resolve (`ssm:…`)."""
        holders: list[tuple[object, str]] = [(self.webhook, "secret")]
        holders += [(self.metrics, "bearer_token"), (self.metrics, "pushgateway")]
        holders += [(holder, "secret") for holder in (self.sanic.app if self.sanic else None, self.app) if holder]
        holders += [(server, "api_key") for server in self.temporalio.servers]
        holders += [(target, name) for target in self.notifications for name in ("url", "secret")]
        return holders

    def secret_values(self) -> list[str]:
        """Every secret the configuration holds, as plain values (so that logs can mask them)."""
        secrets: list[SecretStr | None] = [getattr(holder, name) for holder, name in self._secret_fields()]
        secrets += [user.password for user in self.authenticator.base_users] if self.authenticator else []
        values = [secret.get_secret_value() for secret in secrets if secret is not None]
        for server in self.temporalio.servers:  # a proxy's password, inside its URL
            target = server.proxy_target
            values += [target[1][1]] if target and target[1] else []
        gateway = urlsplit(self.metrics.pushgateway.get_secret_value()) if self.metrics.pushgateway else None
        values += [unquote(gateway.password)] if gateway and gateway.password else []  # a password in its URL
        return values

    @property
    def secret(self) -> SecretStr | None:
        """The JWT secret: `sanic.app.secret` (seed) or `app.secret`."""
        if self.sanic and self.sanic.app.secret:
            return self.sanic.app.secret
        return self.app.secret if self.app else None

    def resolve_secrets(self, resolve: Callable[[str], str] | None = None) -> Self:
        """Replace secret references (`ssm:…`, `secretsmanager:…`, see launchpad.secrets) by their
        values, in place and once: the JWT secret, `webhook.secret`, every server's `api_key`,
        `metrics.bearer_token`, `metrics.pushgateway` and the notification targets' `url` and `secret`.
        Plain values pass through; without references nothing is imported or fetched."""
        if self._secrets_resolved:
            return self
        if resolve is None:
            from launchpad.secrets import resolve as resolve_reference

            resolve = resolve_reference
        for holder, name in self._secret_fields():
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

    @property
    def instance(self) -> str:
        """Who owns what this launchpad creates in Temporal: `reconciler.instance`, else a name
        derived from the repository (its url, a local one resolved, and its branch)."""
        if self.reconciler.instance:
            return self.reconciler.instance
        url = self.repository.url
        if "://" not in url and not url.startswith("git@"):
            url = str(self.path(url).resolve())
        digest = hashlib.sha256(f"{url.rstrip('/').removesuffix('.git')}#{self.repository.branch}".encode())
        return digest.hexdigest()[:12]

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
    try:
        doc, _ = inject_env(read_yaml(text, file) if text.strip() else {}, file, os.environ if env is None else env)
        return validate(Config, doc, file)
    except SpecErrors as exc:
        raise locate(exc, text) from None


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
