"""The package's own failures: each says what was received and what was expected."""

from __future__ import annotations


class OtelLakeError(Exception):
    """Base class; the CLI maps it to exit code 1."""


class BadInput(OtelLakeError, ValueError):
    """A user-supplied value is wrong; the CLI maps it to exit code 2."""


class SetupError(OtelLakeError):
    """A download or build step of `make setup` failed, or was not run yet."""


class PortInUse(BadInput):
    """A port a local service needs is taken by some other process."""

    def __init__(self, port: int, setting: str, what: str) -> None:
        super().__init__(
            f"port {port} for {what} is already in use by another process; "
            f"set {setting} to a free port (or stop whatever listens on {port})"
        )
        self.port = port
        self.setting = setting


class ServiceNotReady(OtelLakeError):
    """A local service did not become ready before its deadline."""
