"""Each chapter's closing verdicts: one row per phenomenon the paper claims, set against this build's numbers.

A verdict is about the models this run measured (the tiny analogs under `tiny`/`ci`, the released checkpoints
under `paper`), never about the paper's own models:

- **reproduced**: this build's model shows the phenomenon as the paper states it (its threshold, its direction),
  beyond the noise where there is noise;
- **not reproduced**: it does not (a statistic on the wrong side of the paper's threshold, or a change the paper
  reports that stays within this build's noise, or the reverse);
- **inverted**: it shows the opposite of the paper's claim, beyond the noise (e.g. the tail matters more than
  the head);
- **not testable here**: this build cannot measure it (the model does not do its task, the data or weights are
  missing); the noise column says why.

The hypotheses chapter (08) tests the paper's explanations, not its observations; its rows say **supported** or
**not supported** (this build's test of the hypothesis came out for it, or not, beyond the noise), or not testable
here.

`this_build` states the numbers, `noise` what they are judged against (a noise floor, an interval, a seed spread),
and `model` which model (and seed) produced them. Sentences drawn from a verdict say no more than its row.
"""
from dataclasses import asdict, dataclass

import pandas as pd

from ..registry import model

VERDICTS = ("reproduced", "not reproduced", "inverted", "not testable here",
            "supported", "not supported")  # the last two: the hypotheses chapter (08) only
COLUMNS = ("phenomenon", "paper", "this build", "verdict", "noise", "model")
# Ends the noise of every verdict read against seeds: the seeds draw the samples, not the model.
SEED_SCOPE = ("the seeds are sampling seeds of one trained model: how another training draw would differ is not in "
              "this noise")


@dataclass(frozen=True)
class Verdict:
    """One phenomenon: what the paper reports, what this build measured, the verdict, and the noise it is read against."""

    phenomenon: str
    paper: str
    this_build: str
    verdict: str
    noise: str
    model: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}")
        for name in ("phenomenon", "paper", "this_build", "noise", "model"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"{name} of a verdict must not be empty (phenomenon {self.phenomenon!r})")

    def record(self):
        """The verdict as a dict with the table's column names."""
        row = asdict(self)
        row["this build"] = row.pop("this_build")
        return {column: row[column] for column in COLUMNS}


def model_label(name, profile):
    """The model a verdict is about: name, profile and training seed (a model trained here) or the official
    checkpoint."""
    trained = getattr(model(name).source, "training_seed", None)
    seed = trained(profile) if trained else None
    if seed is not None:
        return f"{name}, {profile} profile, training seed {seed}"
    return f"{name}, official checkpoint ({profile} profile)"


def verdict_table(verdicts):
    """The chapter's closing table: one row per verdict, in the order given."""
    if not verdicts:
        raise ValueError("verdicts must hold at least one Verdict")
    return pd.DataFrame([v.record() for v in verdicts], columns=list(COLUMNS))


def verdict_sentences(verdicts):
    """One Markdown bullet per verdict, saying exactly what its row says."""
    return "\n".join(f"- **{v.phenomenon}** ({v.model}): {v.verdict}. This build: {v.this_build}. Paper: {v.paper}. "
                     f"Noise: {v.noise}." for v in verdicts)

