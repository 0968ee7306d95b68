"""Secret references in the configuration: `ssm:/path/to/parameter` and `secretsmanager:name-or-arn`.

A configured secret (the JWT secret, `webhook.secret`, a server's `api_key`) may name where the
value lives instead of holding it:

    app: {secret: "ssm:/launchpad/jwt-secret"}          # SSM GetParameter, WithDecryption
    webhook: {secret: "secretsmanager:launchpad/webhook"} # Secrets Manager GetSecretValue (SecretString)

Any other string is the value itself and passes through unchanged. Each reference is fetched
once per process (a Lambda container: once per cold start). boto3 is imported only when a
reference is actually resolved. Errors name the reference, never a value; botocore's debug log
of the response body (which holds the value) is suppressed while a secret is fetched.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from launchpad.errors import LaunchpadError

log = logging.getLogger(__name__)
PREFIXES = ("ssm:", "secretsmanager:")

_cache: dict[str, str] = {}
_lock = threading.Lock()


class SecretError(LaunchpadError):
    code = "secret_unavailable"
    kind = "upstream"


def is_reference(value: str) -> bool:
    return value.startswith(PREFIXES) and len(value.split(":", 1)[1]) > 0


def resolve(value: str) -> str:
    """The secret a reference names (cached for the process); any other string unchanged."""
    if not is_reference(value):
        return value
    with _lock:
        if value not in _cache:
            _cache[value] = _fetch(value)
            log.info("resolved secret reference %s", value)
        return _cache[value]


def clear_cache() -> None:
    """Forget resolved secrets (tests; a process that wants rotated values)."""
    with _lock:
        _cache.clear()


def _fetch(reference: str) -> str:
    scheme, name = reference.split(":", 1)
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        raise SecretError(f"cannot resolve secret {reference}: boto3 is not installed") from None
    try:
        with _quiet_botocore():
            if scheme == "ssm":
                answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
                value = answer.get("Parameter", {}).get("Value")
            else:
                answer = boto3.client("secretsmanager").get_secret_value(SecretId=name)
                value = answer.get("SecretString")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SecretError(f"cannot resolve secret {reference}: {code}") from None
    except BotoCoreError as exc:  # no credentials, no region, endpoint unreachable: no value in these
        raise SecretError(f"cannot resolve secret {reference}: {type(exc).__name__}: {exc}") from None
    if not isinstance(value, str) or not value:
        raise SecretError(f"cannot resolve secret {reference}: it has no string value")
    return value


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextlib.contextmanager
def _quiet_botocore() -> Iterator[Any]:
    """botocore logs whole response bodies at DEBUG: not while one of them carries a secret."""
    loggers = [logging.getLogger(name) for name in ("botocore.parsers", "botocore.endpoint", "botocore.hooks")]
    drop = _DropAll()
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)
