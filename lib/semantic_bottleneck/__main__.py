"""Command line: `python -m semantic_bottleneck book|stats ...`."""
import argparse
import sys

from .profiles import PROFILES


def main(argv=None):
    """Parse the subcommand and run it; exit status 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m semantic_bottleneck")
    sub = parser.add_subparsers(dest="command", required=True)
    book = sub.add_parser("book", help="execute the notebooks with papermill and render the Jupyter Book")
    book.add_argument("--profile", default="tiny", choices=PROFILES)
    book.add_argument("--only", action="append", metavar="NAME", help="run only this notebook (repeatable)")
    book.add_argument("--force", action="store_true", help="re-execute even when nothing changed")
    book.add_argument("--no-render", action="store_true", help="execute only; skip the HTML build")
    stats = sub.add_parser("stats", help="cosine / PR / sparsity statistics of c from a checkpoint")
    from .commands.stats_command import add_arguments
    add_arguments(stats)
    args = parser.parse_args(argv)
    if args.command == "book":
        from .book.driver import build
        return build(args.profile, only=args.only, force=args.force, render_html=not args.no_render)
    from .commands.stats_command import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
