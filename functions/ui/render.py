"""Pages out of jinja2 templates (autoescaped), and the static files, from the package itself.

The templates are the package's own code; everything shown in them (file contents, reasons,
descriptions) arrives as values, which autoescaping turns into text. A strict Content Security
Policy (scripts and styles from this app only, nothing inline) makes even a missed escape inert.
"""

import functools
import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from functions.ui.session import CSRF_FIELD, Viewer, keep_anonymous_key

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry the CSRF token and live state
}
COMPRESS_FROM = 1024  # bytes; a thousand-row overview shrinks about twentyfold
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every file of static/, by name: a request can only name one of these (no path is opened)."""
    out = {}
    for item in files("functions.ui").joinpath("static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if suffix in STATIC_TYPES:
            body = item.read_bytes()
            out[item.name] = Asset(body, STATIC_TYPES[suffix], hashlib.sha256(body).hexdigest()[:12])
    return out


def static_url(name: str) -> str:
    return f"/ui/static/{name}?v={assets()[name].version}"


def static_response(name: str) -> Response:
    asset = assets().get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else "—"


def seconds(value: timedelta | None) -> str:
    return f"{value.total_seconds():.1f} s" if value is not None else "—"


def short(sha: str | None) -> str:
    return sha[:12] if sha else "—"


@functools.cache
def environment() -> Any:
    """Built on first use: the API's other routes (and a Lambda cold start) never load jinja2."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("functions.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static=static_url, csrf_field=CSRF_FIELD)
    env.filters.update(when=when, seconds=seconds, short=short)
    return env


def page(request: Request, who: Viewer | None, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("notice", None)
    context.setdefault("error", None)
    body = environment().get_template(template).render(who=who, path=request.url.path, **context).encode()
    headers = dict(PAGE_HEADERS)
    if len(body) >= COMPRESS_FROM and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=1, mtime=0)
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    response = HTMLResponse(body, status_code=http_status, headers=headers)
    if who is not None:
        keep_anonymous_key(request, response, who)
    return response
