"""``python -m eventbridge_sdk``: the ``eventbridge`` command line (``docs/cli.md``).

Example::

    python -m eventbridge_sdk run app:bridge
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``eventbridge`` command, or say which extra it needs when it is missing.

    Example::

        main()  # what the ``eventbridge`` console script calls
    """
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError as exc:
        sys.stderr.write(
            f"eventbridge: the command line needs the 'cli' extra ({exc.name} is not installed): "
            "pip install 'eventbridge-sdk[cli]'\n"
        )
        raise SystemExit(1) from None
    from ._cli import cli

    cli(prog_name="eventbridge")


if __name__ == "__main__":
    main()
