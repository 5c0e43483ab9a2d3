"""The exit codes of docs/contract.md: 0 success, 2 bad input (the message names the value and
what was expected), 1 anything else the package raises. Every command is wrapped once, where
the app is assembled, so no command decides its own exit code."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from otellake.cli import output
from otellake.errors import BadInput, OtelLakeError
from otellake.settings import env_var_for

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Exit 2 for bad input (naming the value), 1 for anything else the package raises."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"])
                output.error(
                    f"bad setting {env_var_for(where)}: {problem['msg']} "
                    f"(got {problem.get('input')!r})"
                )
            raise typer.Exit(2) from None
        except BadInput as exc:
            output.error(str(exc))
            raise typer.Exit(2) from None
        except OtelLakeError as exc:
            output.error(str(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
