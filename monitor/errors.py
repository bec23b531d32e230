"""Domain errors. The CLI turns every MonitorError into a one-line message and exit status 1."""

from __future__ import annotations


class MonitorError(Exception):
    """A problem the user must fix. `message` names the file, key, line or parameter."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def user_message(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class ConfigError(MonitorError):
    """The configuration file or environment is invalid. `problems` lists every problem found."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        super().__init__("; ".join(problems) if problems else "invalid configuration", hint)
        self.problems = problems


class DatabaseError(MonitorError):
    """The database cannot be reached or migrated."""


class InputError(MonitorError):
    """Bad input given on the command line or in a file (JSON Lines, dates, ids)."""


class FeedError(Exception):
    """A feed could not be fetched or parsed. `kind` is a stable reason shown by `feeds`.

    Kinds: timeout, connect, dns, tls, http_4xx/http_5xx (as `http_404` …), too_large, too_many_redirects,
    bad_scheme, not_a_feed, parse_error, gone, private_address, reset.
    """

    def __init__(self, kind: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class DeliveryError(Exception):
    """An alert could not be delivered. `permanent` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
