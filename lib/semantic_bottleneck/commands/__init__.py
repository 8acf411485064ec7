"""Command-line subcommands (`python -m semantic_bottleneck ...`) other than `book`.

May import: every group below it.
"""
