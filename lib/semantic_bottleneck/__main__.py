"""Command line: `python -m semantic_bottleneck book|stats|prune ...` (`prune` also under `torchrun`).

Every error ends in one `error: ...` line and a non-zero exit; `--debug` adds the traceback. Warnings print as one
`warning: ...` line each. A reader that closes the output early (`... | head`) ends the command quietly (exit 141,
as a shell reports SIGPIPE).
"""
import argparse
from functools import partial
import os
import sys
import warnings

from .profiles import PROFILES


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=file or sys.stderr)


CLOSED_PIPE = 141  # 128 + SIGPIPE


def _quiet_stdout():
    """Point stdout at /dev/null, so that Python's flush at exit meets no closed pipe either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _guarded(command, debug):
    """Run `command()`; an exception nobody anticipated (a bug) or Ctrl-C still ends in one line."""
    try:
        return command()
    except BrokenPipeError:
        _quiet_stdout()
        return CLOSED_PIPE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        print(f"error: unexpected {type(err).__name__}: {first} (a bug? rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


def main(argv=None):
    """Parse the subcommand and run it; exit status 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m semantic_bottleneck")
    sub = parser.add_subparsers(dest="command", required=True)
    book = sub.add_parser("book", help="execute the notebooks with papermill and render the Jupyter Book")
    book.add_argument("--profile", default="tiny", choices=PROFILES)
    book.add_argument("--only", action="append", metavar="NAME", help="run only this notebook (repeatable)")
    book.add_argument("--force", action="store_true", help="re-execute even when nothing changed")
    book.add_argument("--no-render", action="store_true", help="execute only; skip the HTML build")
    book.add_argument("--debug", action="store_true", help="show the traceback of an error")
    stats = sub.add_parser("stats", help="cosine / PR / sparsity statistics of c from a checkpoint")
    from .commands.stats_command import add_arguments
    add_arguments(stats)
    prune = sub.add_parser("prune", help="a chapter's pruning rows on one process or many (torchrun), resumable")
    from .commands import prune_command
    prune_command.add_arguments(prune)
    args = parser.parse_args(argv)
    if args.command == "book":
        from .book.driver import build
        command = partial(build, args.profile, only=args.only, force=args.force, render_html=not args.no_render,
                          debug=args.debug)
    elif args.command == "prune":
        command = partial(prune_command.run, args)
    else:
        from .commands.stats_command import run
        command = partial(run, args)
    with warnings.catch_warnings():
        if not args.debug:
            warnings.showwarning = _one_line_warning
        return _guarded(command, args.debug)


if __name__ == "__main__":
    sys.exit(main())
