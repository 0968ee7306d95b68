"""The lease's own rules, without a store: who counts as dead, and when a holder stops writing."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

from launchpad.state.records import SyncMeta
from reconciler.lease import Lease, is_dead, machine, new_holder


def a_pid_that_is_gone() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_only_a_process_of_this_host_and_pid_namespace_can_be_told_dead() -> None:
    gone = a_pid_that_is_gone()
    assert is_dead(f"{machine()}:{gone}:abc")
    assert not is_dead(new_holder()), "this process"
    # the same host name in another PID namespace (a container with --network host): its pids
    # mean nothing here, so it may be alive; and a holder of another host
    assert not is_dead(f"{socket.gethostname()}/1:{gone}:abc")
    assert not is_dead(f"elsewhere:{gone}:abc")
    assert new_holder().startswith(f"{machine()}:{os.getpid()}:")


class Unreachable:
    """A state store that cannot be reached: every renewal fails."""

    remote = False

    def renew_lease(self, scope: str, holder: str, ttl: float) -> bool:
        raise OSError("the state store does not answer")

    def finish_lease(self, scope: str, holder: str, meta: SyncMeta) -> bool:
        raise OSError("the state store does not answer")


async def test_a_holder_that_cannot_renew_within_its_ttl_stops_writing() -> None:
    """Past its TTL the lease has expired in the store and another process may hold it: the
    holder counts it lost (it kept writing for as long as the store stayed unreachable)."""
    lease = Lease(Unreachable(), "sync", new_holder(), 0.3, SyncMeta())  # type: ignore[arg-type]
    async with lease:
        await asyncio.sleep(0.15)
        assert not lease.lost, "within the TTL it may still be ours"
        for _ in range(40):
            if lease.lost:
                break
            await asyncio.sleep(0.05)
        assert lease.lost
