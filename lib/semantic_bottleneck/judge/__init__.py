"""Judging samples: feature extractors, FID/KID/IS/precision/recall, per-sample scores (against a class, a pair's
answer, a sound class), and statistics over paired seeds. The judges themselves are entries of `study.judges`.

May import: nothing else of this package (the tiny profile's extractor is built in `tiny`).
"""
