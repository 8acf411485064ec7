"""Each chapter's tables, figures and generated sentences: one folder per notebook, shared figures in `figures`.

May import: every group below it (`study`, `registry`, `tiny`, `checkpoints`, `judge`, `sampling`, `nets`,
`condition`, `settings`, `paper`, `profiles`, `cache`, `devices`); a chapter never imports another chapter.
"""
