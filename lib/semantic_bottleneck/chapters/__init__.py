"""Each chapter's computation, tables, figures, sentences and verdicts: one folder per notebook, each with the same
parts for the same jobs (`study`, `rows` in a sampling chapter, `tables`, `figures`, `report`, `verdicts`); what
chapters share beside them (`figures`, `captions`, `verdicts`, `pruning_tables`, `plans`).

May import: every group below it (`study`, `registry`, `tiny`, `checkpoints`, `judge`, `sampling`, `nets`,
`condition`, `settings`, `paper`, `profiles`, `cache`, `devices`); a chapter never imports another chapter.
"""
