"""Running `ceasefire-monitor run` as a real process in tests, and waiting for states (never for seconds).

    with Daemon.start(config) as d:
        d.wait_for("started")                       # a log event, with a generous deadline
        wait_until(lambda: store.article_count() == 4, what="four articles stored")
        d.stop()                                     # SIGTERM, exit status 0 asserted

Both output pipes are drained continuously by threads, so a chatty daemon never blocks on a full pipe;
the lines are kept for the test to search (`lines`, `events`, `wait_for`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest

# Deadlines are generous on purpose: they only bound a test that is already failing, and a busy 2-core
# machine can be ten times slower than an idle one. Override with CFM_TEST_DEADLINE (seconds).
DEADLINE_S = float(os.environ.get("CFM_TEST_DEADLINE", "90"))
# The crash suite's summaries, shown by conftest.py's terminal summary.
CRASH_SUMMARIES = pytest.StashKey[list[dict[str, Any]]]()
_EVENT = re.compile(r"^\S+ (?P<level>\w+) (?P<event>\S+)(?P<fields>.*)$")
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def wait_until(predicate: Callable[[], object], timeout: float = DEADLINE_S, interval: float = 0.05, *,
               what: str = "") -> bool:
    """Poll `predicate` until it is truthy (True) or `timeout` seconds pass. With `what`, a timeout is an
    AssertionError naming the state that never came; without, it returns False."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            if what:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")
            return False
        time.sleep(interval)


def parse_event(line: str) -> tuple[str, dict[str, str]] | None:
    """`ts level event k=v …` (the text log format) -> (event, fields); None for other lines."""
    m = _EVENT.match(line)
    if not m:
        return None
    fields = {k: v[1:-1] if v.startswith('"') else v for k, v in _FIELD.findall(m.group("fields"))}
    return m.group("event"), fields


class Output:
    """Lines read from a pipe by a thread, as they come."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = stream is None
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True) if stream else None
        if self._thread:
            self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait_line(self, match: Callable[[str], bool], start: int = 0, timeout: float = DEADLINE_S) -> int | None:
        """Index of the first line from `start` on that `match`es, waiting for it; None at EOF or timeout."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    if match(self.lines[i]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    return None
                self._cond.wait(min(left, 1.0))

    def join(self, timeout: float = DEADLINE_S) -> None:
        if self._thread:
            self._thread.join(timeout)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


class Daemon:
    """A `python -m monitor run` process (or another monitor command) with both pipes drained."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.stdout = Output(proc.stdout)
        self.stderr = Output(proc.stderr)

    @classmethod
    def start(cls, config: Path, *args: str, env: dict[str, str] | None = None) -> Daemon:
        """`python -m monitor run` (or `args`) on `config`; the environment's database override removed."""
        full = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config), **(env or {})}
        full.pop("CEASEFIRE_MONITOR_DATABASE_URL", None)
        proc = subprocess.Popen([sys.executable, "-m", "monitor", *(args or ("run",))], env=full,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return cls(proc)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self, name: str | None = None) -> list[tuple[str, dict[str, str]]]:
        found = (parse_event(line) for line in list(self.stdout.lines))
        return [e for e in found if e is not None and (name is None or e[0] == name)]

    def wait_for(self, name: str, start: int = 0, timeout: float = DEADLINE_S,
                 where: Callable[[dict[str, str]], bool] | None = None) -> int:
        """Wait for log event `name` (from line `start` on, fields matching `where`); its line index. A
        daemon that exits or stays silent fails the test with its output."""
        def match(line: str) -> bool:
            e = parse_event(line)
            return e is not None and e[0] == name and (where is None or where(e[1]))

        index = self.stdout.wait_line(match, start, timeout)
        if index is None:
            raise AssertionError(f"no {name!r} event within {timeout:.0f} s (exit status {self.proc.poll()});\n"
                                 f"stdout tail:\n{self.stdout.text()[-3000:]}\nstderr tail:\n"
                                 f"{self.stderr.text()[-3000:]}")
        return index

    def kill(self) -> None:
        """SIGKILL, then wait for the exit and the pipes' end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(DEADLINE_S)
        self.stdout.join()
        self.stderr.join()

    def stop(self, expect: int = 0) -> None:
        """SIGTERM and wait; asserts the exit status (0: a clean stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(DEADLINE_S)
        self.stdout.join()
        self.stderr.join()
        assert self.proc.returncode == expect, (
            f"exit status {self.proc.returncode}, expected {expect}\nstderr:\n{self.stderr.text()[-3000:]}")

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc.poll() is None:
            self.kill()
