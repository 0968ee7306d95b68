"""The JSON form of the state store's records, shared by every backend.

Reading is lenient on purpose: keys a newer launchpad wrote are ignored, keys an older one did not
write take their defaults, so a store outlives upgrades and downgrades.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from typing import Any

from launchpad.state import records


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__}")


def dump(record: Any) -> str:
    """A record (a dataclass of launchpad.state.records) as JSON."""
    return json.dumps(_data(record), default=_plain, separators=(",", ":"))


def _data(value: Any) -> Any:
    """`dataclasses.asdict` without its deep copies (a sync writes a record per object it applies)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _data(getattr(value, name)) for name in _names(type(value))}
    if isinstance(value, list | tuple):
        return [_data(item) for item in value]
    if isinstance(value, dict):
        return {key: _data(item) for key, item in value.items()}
    return value


_field_names: dict[type[Any], tuple[str, ...]] = {}  # a drift scan reads every record: `fields()` is slow


def _names(cls: type[Any]) -> tuple[str, ...]:
    names = _field_names.get(cls)
    if names is None:
        names = _field_names[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    names = _names(cls)
    return {k: v for k, v in data.items() if k in names}


def _date(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def load_object(text: str) -> records.AppliedObject:
    data = _known(records.AppliedObject, json.loads(text))
    data["kind"] = records.Kind(data["kind"])
    data["status"] = records.SyncStatus(data.get("status") or records.SyncStatus.SYNCED)
    data["updated_at"] = _date(data.get("updated_at"))
    policy: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in (data.get("policy") or {}).items()}
    data["policy"] = records.Policy(**_known(records.Policy, policy))
    return records.AppliedObject(**data)


def _outcome(data: dict[str, Any]) -> records.Outcome:
    data = _known(records.Outcome, data)
    data["kind"] = records.Kind(data["kind"])
    return records.Outcome(**data)


def load_sync(text: str) -> records.SyncRecord:
    data = _known(records.SyncRecord, json.loads(text))
    data["started_at"] = _date(data["started_at"])
    data["finished_at"] = _date(data.get("finished_at"))
    data["status"] = records.RunStatus(data.get("status") or records.RunStatus.RUNNING)
    data["outcomes"] = [_outcome(o) for o in data.get("outcomes", [])]
    errors, messages = [], [data.get("message", "")]
    for error in data.get("errors", []):
        if "file" in error:
            errors.append(
                records.FileError(**_known(records.FileError, {"revision": data.get("revision") or "", **error}))
            )
        else:  # before 0.2 a sync's own message was stored as an error without a file
            messages.append(str(error.get("message", "")))
    data["errors"] = errors
    data["message"] = "; ".join(m for m in messages if m)
    return records.SyncRecord(**data)


def load_meta(text: str | None) -> records.SyncMeta:
    if not text:
        return records.SyncMeta()
    data = _known(records.SyncMeta, json.loads(text))
    for name in ("drift_scan_at", "verified_at", "checked_at", "retry_at"):
        data[name] = _date(data.get(name))
    data["errors"] = [records.FileError(**_known(records.FileError, e)) for e in data.get("errors", [])]
    return records.SyncMeta(**data)
