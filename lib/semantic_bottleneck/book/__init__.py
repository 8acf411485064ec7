"""The book: papermill driver, each notebook's provenance, and the reproduction-status page.

May import: every group below it (`chapters` excluded: the driver only runs notebooks).
"""
