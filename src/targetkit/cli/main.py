"""``targetkit``: the command line (``targetkit --help``).

Every user error (missing file, invalid JSON, unknown mbox, bad artifact) ends with exit
code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from targetkit.cli import artifact_cmd, decide_cmd, demo, serve_cmd
from targetkit.cli.common import EXIT_USAGE, CliError

__all__ = ["build_parser", "main"]

EPILOG = """\
start here:  targetkit demo
commands:    serve | demo | artifact inspect | artifact decode | decide
"""


def build_parser() -> argparse.ArgumentParser:
    from targetkit import __version__

    parser = argparse.ArgumentParser(
        prog="targetkit",
        description="targetkit: Adobe Target SDK tools, and a local Target edge emulator.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"targetkit {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what targetkit does (to stderr)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve_cmd.add_parser(sub)
    demo.add_parser(sub)
    artifact_cmd.add_parsers(sub)
    decide_cmd.add_parser(sub)
    return parser


def _configure_logging(verbose: bool) -> None:
    # The CLI is an application: it decides where log records go (stderr).
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="targetkit: %(levelname)s: %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        code: int = args.handler(args)
    except CliError as err:
        print(f"targetkit: error: {_one_line(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("targetkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``targetkit ... | head``): not an error worth a trace.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
