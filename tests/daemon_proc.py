"""Running `ceasefire-monitor run` as a real process in tests, and waiting for conditions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def start_daemon(config: Path, *, capture_stdout: bool = False, text: bool = False) -> subprocess.Popen[Any]:
    """`python -m monitor run` on `config` (the environment's database override removed); stderr is piped."""
    env = {**os.environ, "CEASEFIRE_MONITOR_CONFIG": str(config)}
    env.pop("CEASEFIRE_MONITOR_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "monitor", "run"], env=env,
                            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=text)


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is truthy (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
