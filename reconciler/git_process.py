"""git as child processes, each with a deadline: one command at a time, or a `cat-file --batch` reader.

Nothing here waits on git without a timeout: a command that overruns is killed, a batch reader
that stops answering is killed and started again on the next read. Nothing here is shared
between threads without a lock.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path


class GitFailed(Exception):
    """A git command failed, timed out or could not run; `message` is what git said."""

    def __init__(self, args: tuple[str, ...], message: str, returncode: int | None = None) -> None:
        self.args_ = args
        self.message = message.strip().replace("\n", " ")[-500:]
        self.returncode = returncode
        super().__init__(f"git {' '.join(args[:2])}: {self.message}")


def run_git(
    cwd: Path, *args: str, env: Mapping[str, str], timeout: float, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """`git ARGS` in `cwd`, killed after `timeout` seconds; GitFailed on a non-zero exit (with `check`)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=dict(env),
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitFailed(args, f"timed out after {timeout:g}s") from None
    except OSError as exc:
        raise GitFailed(args, str(exc)) from None
    if check and done.returncode != 0:
        raise GitFailed(args, done.stderr.decode(errors="replace") or f"exit {done.returncode}", done.returncode)
    return done


class BatchReader:
    """A long-lived `git cat-file --batch`: object contents by name (a sha, or `rev:path`)
    without a process per read. One read at a time; each read has a deadline."""

    def __init__(self, cwd: Path, env: Mapping[str, str], timeout: float) -> None:
        self.cwd = cwd
        self.env = dict(env)
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._mutex = threading.Lock()

    def read(self, name: str) -> bytes | None:
        """The object's content; None when the repository has no such object."""
        if "\n" in name:
            return None
        with self._mutex:
            try:
                return self._read(name, time.monotonic() + self.timeout)
            except BaseException:
                self._stop()  # a reader in an unknown state is never reused
                raise

    def close(self) -> None:
        with self._mutex:
            self._stop()

    def _read(self, name: str, deadline: float) -> bytes | None:
        process = self._start()
        assert process.stdin is not None
        try:
            process.stdin.write(name.encode() + b"\n")
            process.stdin.flush()
        except OSError as exc:
            raise GitFailed(("cat-file", "--batch"), f"the reader stopped ({exc})") from None
        header = self._take_line(process, deadline).split()
        if len(header) != 3:  # `<name> missing`, `<name> ambiguous`
            return None
        size = int(header[2])
        data = self._take(process, size + 1, deadline)
        return bytes(data[:size])

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        self._buffer.clear()
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    def _take_line(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            self._fill(process, deadline)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def _take(self, process: subprocess.Popen[bytes], size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(process, deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _fill(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise GitFailed(("cat-file", "--batch"), f"no answer within {self.timeout:g}s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise GitFailed(("cat-file", "--batch"), "the reader exited")
        self._buffer += chunk
