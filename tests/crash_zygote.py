"""A fork server for the crash suite: imports the monitor and loads the classifier once, then forks one
`ceasefire-monitor run` process per `spawn` command, so dozens of kill-and-restart cycles fit in a couple
of minutes (a cold start spends seconds loading the gazetteer on a busy machine).

Each child runs the real command (`monitor.cli.app.main(["run"])`: migrate, sync feeds, take back leases,
scheduler) on CEASEFIRE_MONITOR_CONFIG; only the classifier object is inherited from this parent. The
children write their log to this process's stdout; control lines are `ZYGOTE …`.

stdin commands: `spawn` -> `ZYGOTE spawned PID`; `reap PID` -> `ZYGOTE reaped PID STATUS` (STATUS is the
negative signal number for a killed child, like subprocess's returncode).
"""

from __future__ import annotations

import os
import sys


def _child() -> None:
    from monitor.cli.app import main

    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the control pipe is the parent's
    try:
        main(["run"], prog_name="ceasefire-monitor")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
    os._exit(code)


def main() -> None:
    import importlib

    for heavy in ("monitor.pipeline", "monitor.service", "monitor.store.engine"):  # imported once, here
        importlib.import_module(heavy)
    from monitor.reading.classify import Classifier
    from monitor.settings import ClassifySettings

    loaded = Classifier.from_settings(ClassifySettings())
    Classifier.from_settings = classmethod(lambda cls, settings: loaded)  # type: ignore[method-assign,assignment]
    print("ZYGOTE ready", flush=True)
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "spawn":
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child()
            print(f"ZYGOTE spawned {pid}", flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(arg), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(f"ZYGOTE reaped {arg} {code}", flush=True)


if __name__ == "__main__":
    main()
