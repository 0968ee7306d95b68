"""One-shot commands' metrics to a Prometheus Pushgateway, as Prometheus suggests for batch jobs.

A `launchpad deploy` or `launchpad reconcile` ends before anything could scrape it: when
`metrics.pushgateway` is set it pushes what it recorded there as it ends (`pushadd_to_gateway`:
the families it pushes replace the group's, the others stay, so the gauges a sync measured
survive the polls that found nothing new), job `launchpad`, grouped by command and instance
(never a user, a task or an argument). A push that fails is logged, never raised: the command's exit
code is its own. The URL may carry credentials (`https://user:pass@host`): they go in a Basic
authorization header, and no log line names the URL.
"""

from __future__ import annotations

import functools
import logging
import urllib.error
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

from prometheus_client import CollectorRegistry, pushadd_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler

JOB = "launchpad"
TIMEOUT = 10.0  # seconds the push may take: a gateway that is down must not hold the command

log = logging.getLogger(__name__)


def gateway_and_handler(url: str) -> tuple[str, Callable[..., Callable[[], None]]]:
    """The URL without its credentials, and the prometheus-client handler that sends them."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, default_handler
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    user, password = unquote(parts.username), unquote(parts.password or "")
    return bare, functools.partial(basic_auth_handler, username=user, password=password)


def push(url: str, registry: CollectorRegistry, grouping: Mapping[str, str]) -> bool:
    """Push `registry` to the gateway at `url`; False (and a warning) when it did not take it."""
    gateway, handler = gateway_and_handler(url)
    try:
        pushadd_to_gateway(gateway, JOB, registry, dict(grouping), timeout=TIMEOUT, handler=handler)
    except urllib.error.HTTPError as exc:
        why = f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        why = f"cannot reach it: {exc.reason}"
    except OSError as exc:  # a timeout, a connection reset
        why = str(exc) or type(exc).__name__
    except Exception as exc:  # a malformed answer or address: the command's outcome is still its own
        why = type(exc).__name__
    else:
        return True
    log.warning("could not push metrics to metrics.pushgateway: %s", why, extra={"fields": dict(grouping)})
    return False
