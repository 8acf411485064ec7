"""Judging samples: feature extractors, FID/KID/IS/precision/recall, and statistics over paired seeds.

May import: nothing else of this package (the tiny profile's extractor is built in `tiny`).
"""
