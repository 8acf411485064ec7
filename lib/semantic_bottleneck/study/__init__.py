"""One pruning study, for every chapter that samples: rows on shared noise, scores per seed, resumable on disk; and
the registry of the judges that score it (`judges`).

May import: `registry`, `condition`, `sampling`, `judge`, `tiny` and `checkpoints` (the judges' networks and files),
`cache`, `devices`, `timing` (its judging spans).
"""
