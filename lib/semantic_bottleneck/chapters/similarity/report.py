"""The similarity chapter's generated sentences beside its verdicts."""
from .tables import paper_agreement


def describe(rows, profile):
    """Sentences beside the verdicts: where a real model's statistic matches no reading, and what this scale cannot
    show."""
    lines = [f"- **{a['model']}**: {a['statistic']} does not match the paper's {a['paper']:.4g} under any reading "
             f"(closest: {a['closest reading']}, {a[a['closest reading']]:.4g})."
             for a in paper_agreement(rows).to_dict("records") if a["verdict"] != "matches"]
    if profile != "paper":
        lines.append(
            "- What this scale cannot show: the tiny model has tens of classes, a width of at most 128 and minutes "
            "of CPU training, not 1000 classes, d = 1152 and millions of GPU steps. Its numbers test whether the "
            "mechanism (a shared timestep embedding dominating c) appears at all, not the paper's values; those need "
            "the `paper` profile.")
    return "\n".join(lines)
