"""Login throttling that holds under concurrency and cannot lock the real user out.

Every attempt is counted before its password is checked, in one atomic step per key (see
`UserStore.attempt`), against two keys: the client's address and the username.

- A client gets `limit` attempts per `window` (all usernames together); then 429.
- A username gets `limit` attempts per `window` from clients that have failed before; beyond
  that, only a client with no recent failure may still try it. A stranger who hammers a name
  (from one address or many) cannot lock its user out: the user's own login from a clean client
  still works. Guessing is bounded by the number of clean addresses an attacker has, one guess
  each for a hammered name.
- A successful login forgets the client's attempt and clears the username's count.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchpad.auth.store import UserStore

LIMIT = 5
WINDOW = 300.0  # seconds


@dataclass(frozen=True)
class Admission:
    """The attempts recorded for one login, to forget if it succeeds."""

    client_key: str
    client_attempt: str
    user_key: str


@dataclass(frozen=True)
class Throttle:
    limit: int = LIMIT
    window: float = WINDOW

    def admit(self, store: UserStore, username: str, client: str) -> Admission | None:
        """Count this attempt; None when it must not be checked (too many)."""
        client_key, user_key = f"client:{client}", f"user:{username}"
        mine, client_before = store.attempt(client_key, self.window, self.limit)
        if mine is None:
            return None
        counted, _ = store.attempt(user_key, self.window, self.limit)
        if counted is None and client_before > 0:  # a hammered name, from a client that has failed
            store.forget_attempt(client_key, mine)  # refused unchecked: no guess was made
            return None
        return Admission(client_key, mine, user_key)

    def succeeded(self, store: UserStore, admission: Admission) -> None:
        store.forget_attempt(admission.client_key, admission.client_attempt)
        store.clear_attempts(admission.user_key)
