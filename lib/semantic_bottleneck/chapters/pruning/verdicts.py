"""The pruning chapter's closing verdicts: each of the paper's pruning claims against this run's rows and noise.

A claim is read on the headline metric (FID) and the agreement column (class agreement; CLIP score on the real
checkpoints). Each change is judged as the chapter judges every change (`judge.paired_seeds`): beyond noise when it
exceeds the noise floor and its paired 95% interval excludes zero, else within noise. The rules, by claim:

- `unchanged` (the tau = 0.01 tail): reproduced when every change is within noise; a change beyond noise, worse or
  better, is "not reproduced" (an improvement is not the opposite of "no change", so it is never "inverted");
- `hurts` (the 66% tail): reproduced when a metric worsens beyond noise and none improves; "inverted" when one
  improves beyond noise and none worsens; otherwise (all within noise, or one worse and one better) "not reproduced";
- `destroys` (a handful of head coordinates): reproduced when every metric worsens beyond noise; inverted and not
  reproduced as for `hurts`;
- a ranking's head/tail result: its tau = 0.01 tail row `unchanged` and its tau = 1.0 head row `hurts`; "inverted"
  when the tail row worsens a metric beyond noise while the head row stays within noise in every metric.

A row this run did not run, or one scored on a single seed (no noise floor), is "not testable here".
"""
from ...condition.reach import RANKINGS
from ...judge.metrics import METRIC_NAMES
from ...paper import paper_table, paper_value
from ...registry import model as registry_model
from ..verdicts import SEED_SCOPE, Verdict
from .rows import PAPER_D
from .tables import label

CLAIMS = ("unchanged", "hurts", "destroys")
LOWER_IS_BETTER = ("fid", "kid")
TAU_ROWS = ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")
HARM_ROW, HEAD_ROW = "tail_tau0.02_every_step", "head_tau1.0_every_step"
PAPER_READS = {"unchanged": "the paper reads these rows as leaving quality intact",
               "hurts": "the paper reads this row as where quality starts to fall",
               "destroys": "the paper: removing a handful of head dimensions \"dramatically degrades\" quality"}
UNTESTABLE = "not testable here"


def change(summary, row, metric):
    """A row's change in one metric: baseline, mean, delta, its 95% half-width, the floor and a direction ("within
    noise", "worse", "better"; None without a noise floor); None when the row or metric is missing."""
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    base = summary[(summary["row"] == "baseline") & (summary["metric"] == metric)]
    if hit.empty or base.empty:
        return None
    h = hit.iloc[0]
    direction = None
    if h["verdict"] == "within noise":
        direction = "within noise"
    elif h["verdict"] == "larger than noise":
        direction = "worse" if (h["delta"] > 0) == (metric in LOWER_IS_BETTER) else "better"
    return {"base": base.iloc[0]["mean"], "mean": h["mean"], "delta": h["delta"], "ci95": h["delta_ci95"],
            "floor": h["noise_floor"], "direction": direction}


def claim_verdict(claim, directions):
    """The verdict of a claim (`CLAIMS`) on the directions of its changes (module docstring)."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {', '.join(CLAIMS)}; got {claim!r}")
    if not directions or any(d is None for d in directions):
        return UNTESTABLE
    worse, better = "worse" in directions, "better" in directions
    if claim == "unchanged":
        return "reproduced" if not (worse or better) else "not reproduced"
    if better and not worse:
        return "inverted"
    harmed = all(d == "worse" for d in directions) if claim == "destroys" else worse and not better
    return "reproduced" if harmed else "not reproduced"


def head_tail_verdict(tail_directions, head_directions):
    """A ranking's head/tail result (module docstring): the tail row unchanged and the head row hurt."""
    if not tail_directions or not head_directions or None in tail_directions + head_directions:
        return UNTESTABLE
    tail, head = claim_verdict("unchanged", tail_directions), claim_verdict("hurts", head_directions)
    if tail == "reproduced" and head == "reproduced":
        return "reproduced"
    if "worse" in tail_directions and all(d == "within noise" for d in head_directions):
        return "inverted"
    return "not reproduced"


def _change_text(c, metric):
    name = METRIC_NAMES.get(metric, metric)
    if c is None:
        return f"{name}: not measured"
    said = {"within noise": "within noise", "worse": "worse beyond noise", "better": "better beyond noise",
            None: "no noise floor"}[c["direction"]]
    return f"{name} {c['base']:.4g} → {c['mean']:.4g} (Δ {c['delta']:+.3g} ± {c['ci95']:.2g}, {said})"


class ClaimReader:
    """Reads the paper's pruning claims on one study: its summary, the headline and agreement metrics, its profile."""

    def __init__(self, study, metric, agreement_column, profile):
        self.study, self.summary, self.metrics = study, study.summary, (metric, agreement_column)
        p = study.protocol
        self.model = (f"{study.model}, {profile} profile, base seed {p.seed}, {p.seeds} seeds of "
                      f"{p.samples_per_seed} samples")

    def directions(self, rows):
        """The direction of every metric's change over `rows` (None where a row or a floor is missing)."""
        changes = [change(self.summary, row, m) for row in rows for m in self.metrics]
        return [None if c is None else c["direction"] for c in changes]

    def row_text(self, row):
        """What one row zeroes and how each metric changes."""
        removed = change(self.summary, row, "removed_dims")
        zeroed = "not run" if removed is None else f"{removed['mean']:.1f} of {self.study.dim} zeroed"
        return f"{label(row)}, {zeroed}: " + "; ".join(
            _change_text(change(self.summary, row, m), m) for m in self.metrics)

    def noise(self):
        """The noise floors the changes are judged against."""
        floors = [f"{METRIC_NAMES.get(m, m)} {c['floor']:.3g}" for m in self.metrics
                  if (c := change(self.summary, "baseline", m)) is not None]
        seeds = self.study.protocol.seeds
        if seeds < 2:
            return "one seed: no noise floor, so no change can be judged"
        weak = "; with 2 seeds the interval is wide, so 'within noise' says little" if seeds == 2 else ""
        return (f"noise floor {', '.join(floors)} (root-mean-square difference of two unpruned runs over {seeds} "
                f"seeds); a change counts only beyond it with its paired 95% interval excluding 0{weak}; {SEED_SCOPE}")

    def verdict(self, phenomenon, paper, rows, claim):
        """One verdict of `claim` over `rows`."""
        return Verdict(phenomenon, paper, "; ".join(self.row_text(r) for r in rows),
                       claim_verdict(claim, self.directions(rows)), self.noise(), self.model)


def paper_row(model, row):
    """The paper's numbers of one row for a model, as a phrase (REPA's Table 2 where the model's table lacks it)."""
    tables = registry_model(model).paper_tables
    table, prefix = (tables[0], tables[1]) if tables else ("T2", "")
    if prefix + row not in paper_table(table).index:
        table, prefix = "T2", ""
    name = f"{prefix.rstrip('/') or 'REPA'}, Table {table[1:]}"
    numbers = ", ".join(f"{text} {paper_value(table, prefix + 'baseline', m):.5g} → "
                        f"{paper_value(table, prefix + row, m):.5g}"
                        for m, text in (("fid", "FID-5K"), ("clip", "CLIP score")))
    removed = paper_value(table, prefix + row, "removed_dims")
    return f"{name}, {label(row)}: {removed:.0f} of {PAPER_D} zeroed; {numbers}"


def claim_verdicts(study, metric, agreement_column, profile):
    """The verdicts of the paper's pruning claims (Table 2) on one study, in the main reading and its variants."""
    reader, summary_rows = ClaimReader(study, metric, agreement_column, profile), set(study.summary["row"])
    main = next((s for s in study.specs.values() if s is not None), None)
    reading = f"{main.reading} mask, {main.branch} branches" if main else "main reading"
    out = [reader.verdict(f"{label(row)} share zeroed ({reading}): quality unchanged",
                          f"{paper_row(study.model, row)}; {PAPER_READS['unchanged']}", [row], "unchanged")
           for row in TAU_ROWS]
    out.append(reader.verdict(f"{label(HARM_ROW)} share (about two thirds) zeroed ({reading}): quality starts to fall",
                              f"{paper_row(study.model, HARM_ROW)}; {PAPER_READS['hurts']}", [HARM_ROW], "hurts"))
    out.append(reader.verdict(f"{label(HEAD_ROW)} share (a handful of head coordinates) zeroed ({reading}): the "
                              "samples are destroyed", f"{paper_row(study.model, HEAD_ROW)}; {PAPER_READS['destroys']}",
                              [HEAD_ROW], "destroys"))
    variants = dict.fromkeys(r.split("@")[1] for r in study.summary["row"] if r.startswith("tail_tau0.01_") and "@" in r)
    for variant in [v for v in variants if v not in RANKINGS]:
        rows = [f"{row}@{variant}" for row in TAU_ROWS if f"{row}@{variant}" in summary_rows]
        what = "the conditional branch only" if variant == "conditional" else f"the {variant} mask reading"
        out.append(reader.verdict(f"Tail τ=0.01 share zeroed under {what}, every schedule: quality unchanged",
                                  f"{paper_row(study.model, TAU_ROWS[0])} (and its t_0, t_(n-k,n) rows); the paper "
                                  f"does not say which reading or branch it prunes", rows, "unchanged"))
    return out


def ranking_verdicts(study, metric, agreement_column, profile):
    """Per ranking this study ran (magnitude and the SiLU-aware `<row>@<ranking>` rows): does it reproduce the
    paper's head/tail result, the tau = 0.01 tail unchanged and the tau = 1.0 head hurting (module docstring)?"""
    reader, summary_rows = ClaimReader(study, metric, agreement_column, profile), set(study.summary["row"])
    out = []
    for ranking in RANKINGS:
        suffix = "" if ranking == "magnitude" else f"@{ranking}"
        tail, head = TAU_ROWS[0] + suffix, HEAD_ROW + suffix
        if tail not in summary_rows or head not in summary_rows:
            continue
        tail_d, head_d = reader.directions([tail]), reader.directions([head])
        out.append(Verdict(f"Head/tail result (the tail share unchanged, the head hurting), coordinates ranked by "
                           f"{ranking}", f"{paper_row(study.model, TAU_ROWS[0])}; {paper_row(study.model, HEAD_ROW)}; "
                           "the paper ranks by |c_i|", f"{reader.row_text(tail)}; {reader.row_text(head)}",
                           head_tail_verdict(tail_d, head_d), reader.noise(), reader.model))
    return out


def verdicts(study, metric, agreement_column, profile):
    """Every closing verdict of one study: the paper's claims, then which ranking reproduces its head/tail result."""
    return (claim_verdicts(study, metric, agreement_column, profile)
            + ranking_verdicts(study, metric, agreement_column, profile))
