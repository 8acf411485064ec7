"""The mechanisms chapter's closing verdicts: is the bottleneck adaLN's? (`chapters.verdicts.Verdict` rows)

Two readings per mechanism, each against the paper's own claim:
- **cosine**: the entering vector's mean cosine between classes is as high as the paper calls high: at least the
  lowest y + t cosine of its Tables 4 and 5 (`high_cosine`), which it reports as high for adaLN and for the
  concatenation (UViT) and "cross-attention" (AudioLDM) columns alike;
- **pruning** (Table 2): zeroing the tail keeps quality, and zeroing the head is what harms (`pruning_verdicts`).

Fair comparison: the arms share architecture, data and training budget, but they learned the task to different
degrees. An arm whose unpruned class agreement is below the adaLN-Zero arm's by more than that arm's noise floor
(`matched_arms`) starts its pruning rows from a weaker model, so its pruning verdicts are withheld ("not testable
here") and the noise column says why.
"""
from ...paper import paper_numbers, paper_value
from ..pruning_tables import summary_line
from ..verdicts import SEED_SCOPE, Verdict
from .study import ENTERING, SUMMED
from .tables import row_label

REFERENCE = "adaLN-Zero"  # the arm the paper's main tables use; the others are matched against it
LOWER_IS_BETTER = ("fid", "kid")
PAPER_ANALOGUE = {"in-context": ("T4", "UViT", "concatenation"),  # mechanism -> (table, column, paper's label)
                  "cross-attention": ("T5", "AudioLDM", "cross-attention")}
REGISTRY_NOTE = {"AudioLDM": "the registry reads AudioLDM-S's text as a class embedding concatenated with t, not "
                             "cross-attention"}


def _cosines():
    """The paper's y + t cosines of Tables 4 and 5: column -> value."""
    numbers = paper_numbers()
    rows = numbers[numbers["table"].isin(["T4", "T5"]) & (numbers["row"] == "cosine_y_plus_t")]
    return dict(zip(rows["column"], rows["value"]))


def high_cosine():
    """(threshold, column): the lowest y + t cosine of the paper's Tables 4 and 5, all of which it calls high."""
    cosines = _cosines()
    column = min(cosines, key=cosines.get)
    return cosines[column], column


def _paper_cosine(mechanism):
    """The paper's claim for a mechanism's vector: its analogue's y + t cosine, or the range over its adaLN columns."""
    cosines = _cosines()
    if mechanism in PAPER_ANALOGUE:
        table, column, label = PAPER_ANALOGUE[mechanism]
        note = f"; {REGISTRY_NOTE[column]}" if column in REGISTRY_NOTE else ""
        return f"Table {table[1]}, {column} (labelled {label}{note}): cosine (y + t) {cosines[column]:.4g}"
    adaln = {k: v for k, v in cosines.items() if k not in {c for _, c, _ in PAPER_ANALOGUE.values()}}
    return (f"Tables 4-5, its {len(adaln)} adaLN columns: cosine (y + t) {min(adaln.values()):.4g} to "
            f"{max(adaln.values()):.4g}")


def cosine_verdicts(stats, models, profile):
    """Per mechanism: is its entering vector's mean cosine between classes as high as the paper's lowest?
    `stats`: `study.statistics_table`; `models`: mechanism -> registry name."""
    threshold, column = high_cosine()
    out = []
    for mechanism in stats.index.get_level_values(0).unique():
        enter = stats.loc[(mechanism, ENTERING)]
        text = (f"entering vector (width {int(enter['width'])}): mean cosine {enter['cosine_mean']:.3f} "
                f"(min {enter['cosine_min']:.3f})")
        if (mechanism, SUMMED) in stats.index and mechanism != REFERENCE:
            text += f"; the sum t + y: {stats.loc[(mechanism, SUMMED), 'cosine_mean']:.3f}"
        out.append(Verdict(f"c is nearly the same for every class ({mechanism})", _paper_cosine(mechanism), text,
                           "reproduced" if enter["cosine_mean"] >= threshold else "not reproduced",
                           f"one trained model, fixed weights (no seed spread); 'high' = at least the paper's lowest "
                           f"y + t cosine in Tables 4-5 ({column} {threshold:.4g})",
                           f"{models[mechanism]}, profile {profile}, t0 = 999"))
    return out


def matched_arms(studies, agreement):
    """Per mechanism: (matched, sentence). Matched when its unpruned `agreement` is not below the adaLN-Zero arm's by
    more than that arm's noise floor (the RMS difference between its unpruned seeds)."""
    base = summary_line(studies[REFERENCE].summary, "baseline", agreement)
    floor = base["noise_floor"]
    out = {}
    for mechanism, study in studies.items():
        mean = summary_line(study.summary, "baseline", agreement)["mean"]
        matched = mean >= base["mean"] - floor
        out[mechanism] = matched, (f"unpruned {agreement} {mean:.3f} against {REFERENCE}'s {base['mean']:.3f} "
                                   f"(its noise floor {floor:.2g}): "
                                   + ("matched" if matched else "below it by more than the floor; the arms share "
                                      "architecture and training budget but learned the task to different degrees"))
    return out


def _worse(h):
    """Whether a summary row changed for the worse beyond noise."""
    return h["verdict"] == "larger than noise" and (h["delta"] > 0) == (h["metric"] in LOWER_IS_BETTER)


def _change(study, row, metrics):
    """'tail 40%: fid +3.1 (floor 2.2)*, class_agreement -0.01 (floor 0.02)'; `*` marks worse beyond noise."""
    parts = []
    for m in metrics:
        h = summary_line(study.summary, row, m)
        parts.append(f"{m} {h['delta']:+.3g} (floor {h['noise_floor']:.2g}){'*' if _worse(h) else ''}")
    return f"{row_label(row, study.dim)}: {', '.join(parts)}"


def _paper_table_2(row):
    """'zeroing 448 of 1152 (38.9%) ... FID a -> b' of one of Table 2's rows, read from the numbers file."""
    d, removed = paper_value("T1", "d", "REPA"), paper_value("T2", row, "removed_dims")
    return (f"{removed:.0f} of {d:.0f} ({100 * removed / d:.3g}%) moves FID {paper_value('T2', 'baseline', 'fid'):.4g} "
            f"-> {paper_value('T2', row, 'fid'):.4g}")


def pruning_verdicts(studies, metrics, agreement, profile):
    """Per mechanism: does zeroing the smallest tail share keep quality, and is the head what harms? `metrics` are
    judged together (worse beyond noise in any of them counts); an unmatched arm's verdicts are withheld."""
    matched, out = matched_arms(studies, agreement), []
    tail_paper = f"Table 2 (REPA), zeroing the tail at every step: {_paper_table_2('tail_tau0.01_every_step')}"
    head_paper = (f"Table 2 (REPA): zeroing the head {_paper_table_2('head_tau1.0_every_step')}, while the tail "
                  f"{_paper_table_2('tail_tau0.01_every_step')}")
    for mechanism, study in studies.items():
        rows = [r for r in study.specs if r != "baseline"]
        tails = sorted((r for r in rows if r.startswith("tail")), key=lambda r: float(r.split("_")[1][:-3]))
        heads = [r for r in rows if r.startswith("head")]
        if not tails or not heads:
            raise ValueError(f"tail_shares and head_shares must each hold at least one share; {mechanism} has rows "
                             f"{', '.join(rows) or 'none'}")
        tail_harm = any(_worse(summary_line(study.summary, tails[0], m)) for m in metrics)
        head_harm = any(_worse(summary_line(study.summary, r, m)) for r in heads for m in metrics)
        ok, why = matched[mechanism]
        noise = (f"paired over {study.protocol.seeds} seeds: worse beyond the noise floor with a 95% interval "
                 f"excluding zero (*); {why}; {SEED_SCOPE}")
        model = f"{study.model}, profile {profile}, base seed {study.protocol.seed}"
        tail_text = _change(study, tails[0], metrics)
        head_text = "; ".join(_change(study, r, metrics) for r in heads)
        tail = "not reproduced" if tail_harm else "reproduced"
        head = ("reproduced" if head_harm and not tail_harm else "inverted" if tail_harm and not head_harm
                else "not reproduced")
        out += [Verdict(f"zeroing the tail keeps quality ({mechanism})", tail_paper, tail_text,
                        tail if ok else "not testable here", noise, model),
                Verdict(f"the head, not the tail, carries the condition ({mechanism})", head_paper,
                        f"{head_text}; {tail_text}", head if ok else "not testable here", noise, model)]
    return out


def verdicts(stats, studies, models, metric, agreement, profile):
    """Every closing verdict of the chapter: the cosine of each mechanism, then its pruning rows."""
    metrics = list(dict.fromkeys([metric, agreement]))
    return [*cosine_verdicts(stats, models, profile), *pruning_verdicts(studies, metrics, agreement, profile)]
