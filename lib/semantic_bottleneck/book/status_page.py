"""The "Reproduction status" page: every paper number beside this build's, with a verdict per row.

A result is a *reproduction* only when it comes from the same model as the paper's number (a real
checkpoint); results of the tiny models are *analogs* and never mark a paper number as reproduced.
"""
from pathlib import Path

import pandas as pd

from ..paper import TOLERANCE, cell_model, paper_numbers
from ..registry import paper_column
from .provenance import VERDICTS_FOLDER

IMAGENET_COLUMNS = ["DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA"]
PENDING = {"T1": "needs the real checkpoints (`paper` profile)", "T4": "needs the real checkpoints (`paper` profile)",
           "T2": "needs REPA and a GPU (`paper` profile of the pruning chapter)",
           "T3": "needs MG / LightningDiT and a GPU (`paper` profile of the pruning chapter)",
           "T6": "needs the real checkpoints and a GPU (`paper` profile of the pruning chapter)",
           "T5": "X-MDPT-L/B/S: need their real checkpoints and DeepFashion (`paper` profile of the pose-guided "
                 "chapter, never run on real weights here); MDSGen: needs its real checkpoint (`paper` profile of the "
                 "video-to-audio chapter, never run on real weights here); UViT, SD3 and AudioLDM: statistics only, from "
                 "their real checkpoints (`paper` profile of the mechanisms chapter, never run on real weights here)",
           "T7": "needs X-MDPT-L, DeepFashion and a GPU (`paper` profile of the pose-guided chapter, never run on real "
                 "weights here)"}
SAME_MODEL = {"X-MDPT": "X-MDPT-L"}  # Tables 1 and 7's X-MDPT is its largest released model (Section 4.1)


def statistic(table, row, column):
    """The kind of number a paper cell holds (cosine, npr, pr, fid, ...), which sets its tolerance."""
    name = row if table in ("T1", "T4", "T5") else column
    return next((k for k in ("cosine", "npr", "pr") if k in name), name)


def verdict(table, row, column, model, value, numbers):
    """(paper value or range, verdict text, whether it reproduces a paper cell) for one of our results."""
    same = numbers[(numbers["table"] == table) & (numbers["row"] == row) & (numbers["column"] == column)]
    cell = cell_model(table, row, column)
    if not same.empty and paper_column(model) == SAME_MODEL.get(cell, cell):
        paper = float(same["value"].iloc[0])
        tol = TOLERANCE.get(statistic(table, row, column), 0.0)
        delta = value - paper
        return paper, f"{'reproduced' if abs(delta) <= tol else 'differs'} (Δ = {delta:+.4g}, tolerance {tol})", True
    span = numbers[(numbers["table"] == table) & (numbers["row"] == row) & numbers["column"].isin(IMAGENET_COLUMNS)]
    if table in ("T1", "T4") and same.empty and not span.empty:  # an analog beside a named column keeps that column
        low, high = span["value"].min(), span["value"].max()
        where = "inside" if low <= value <= high else "outside"
        return (low, high), f"analog: {where} the paper's ImageNet range", False
    paper = f"{float(same['value'].iloc[0]):.4g} ({cell_model(table, row, column)})" if not same.empty else None
    return paper, "analog: not comparable in value (other data; see reading)", False


def _shown(paper):
    if paper is None or isinstance(paper, str):
        return paper or ""
    return f"{paper[0]:.4g} to {paper[1]:.4g} (6 models)" if isinstance(paper, tuple) else f"{paper:.4g}"


def status_table(results_dir):
    """One row per result of this build, plus one 'not yet reproduced' row per number of Tables 1-7 it does not reproduce.

    Numbers quoted from the paper's figures and text (table `TEXT`) are compared in their chapters, not here.
    """
    numbers = paper_numbers()
    numbers = numbers[numbers["table"].str.startswith("T") & (numbers["table"] != "TEXT")]
    files = sorted(Path(results_dir).glob("*.csv")) if Path(results_dir).exists() else []
    rows, covered = [], set()
    for r in (pd.concat([pd.read_csv(f) for f in files]).itertuples() if files else []):
        paper, text, reproduces = verdict(r.table, r.row, r.column, r.model, r.value, numbers)
        if reproduces:
            covered.add((r.table, r.row, r.column))
        rows.append({"table": r.table, "row": r.row, "column": r.column, "model": r.model, "reading": r.reading,
                     "paper": _shown(paper), "this build": f"{r.value:.4g}", "profile": r.profile, "verdict": text})
    for n in numbers.itertuples():
        if (n.table, n.row, n.column) not in covered:
            rows.append({"table": n.table, "row": n.row, "column": n.column, "model": cell_model(n.table, n.row, n.column),
                         "reading": "", "paper": n.printed, "this build": "", "profile": "",
                         "verdict": f"not yet reproduced: {PENDING[n.table]}"})
    return pd.DataFrame(rows)


def pending_summary(table):
    """The paper numbers without a reproduction, one line per paper table, listing each pending number."""
    pending = table[table["this build"] == ""]
    return pd.DataFrame([{"table": name, "pending": len(part), "why": part["verdict"].iloc[0].removeprefix(
        "not yet reproduced: "), "numbers": "; ".join(f"{r.row} / {r.column} = {r.paper}" for r in part.itertuples())}
        for name, part in pending.groupby("table", sort=True)])


def _computed_view(done):
    """The computed rows with the paper cell in one column, narrow enough for the book's page."""
    cell = done["table"] + " · " + done["row"] + " · " + done["column"]
    return pd.DataFrame({"paper cell": cell, "model": done["model"], "this build": done["this build"],
                         "paper": done["paper"], "verdict": done["verdict"], "reading": done["reading"]})


def chapter_verdicts(results_dir):
    """Every chapter's closing verdicts (the CSVs notebooks write with `Run.save_verdicts`), in book order."""
    files = sorted((Path(results_dir) / VERDICTS_FOLDER).glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=["notebook", "phenomenon", "verdict", "this build", "paper", "noise", "model",
                                     "profile"])
    table = pd.concat([pd.read_csv(f, keep_default_na=False) for f in files], ignore_index=True)
    return table[["notebook", "phenomenon", "verdict", "this build", "paper", "noise", "model", "profile"]]


def verdict_summary(verdicts):
    """One line per chapter: how many of its phenomena were reproduced, not reproduced, inverted, not testable, and
    how many of its hypotheses were supported or not (chapter 08)."""
    kinds = ["reproduced", "not reproduced", "inverted", "not testable here", "supported", "not supported"]
    counts = pd.crosstab(verdicts["notebook"], verdicts["verdict"]).reindex(columns=kinds, fill_value=0)
    return counts.reset_index().rename(columns={"notebook": "chapter"})


def _verdict_lines(verdicts):
    """The verdict section of the page: the counts per chapter, then every chapter's table."""
    if verdicts.empty:
        return ["No chapter has written verdicts yet.", ""]
    lines = [verdict_summary(verdicts).to_markdown(index=False), ""]
    for notebook, part in verdicts.groupby("notebook", sort=True):
        lines += [f"### {notebook} ({', '.join(sorted(set(part['profile'])))} profile)", "",
                  part.drop(columns=["notebook", "profile"]).to_markdown(index=False), ""]
    return lines


def write_status_page(results_dir, path):
    """Write the status page as Markdown (a generated file in the book's build folder)."""
    table = status_table(results_dir)
    done = table[table["this build"] != ""]
    reproduced = done[done["verdict"].str.startswith(("reproduced", "differs"))]
    lines = [
        "# Reproduction status", "",
        "Generated by the book driver from the paper's numbers (`lib/semantic_bottleneck/data/paper_numbers.csv`) "
        "and the numbers this build's notebooks computed. A paper number counts as *reproduced* only when the same "
        "real checkpoint gives a value within the stated tolerance; numbers computed on the tiny models are *analogs*: "
        "for Tables 1 and 4 the page says where they fall relative to the paper's six ImageNet models, and for the "
        "pruning tables the paper's value (on its own model) is shown for orientation and the reading column says "
        "whether the change from the baseline exceeds the seed noise.", "",
        f"This build computed {len(done)} values (profiles: {', '.join(sorted(set(done['profile']))) or 'none'}), "
        f"{len(reproduced)} of them on the paper's own models; "
        f"{int((table['this build'] == '').sum())} paper numbers are not yet reproduced.", "",
        "## Verdicts, chapter by chapter", "",
        "Each chapter closes with one verdict per phenomenon the paper claims (reproduced, not reproduced, inverted, "
        "or not testable here), judged on the models that chapter ran under its profile: on the tiny profile these "
        "are verdicts on the tiny analogs, not on the paper's models.", "",
        *_verdict_lines(chapter_verdicts(results_dir)),
        "## Computed in this build", "", _computed_view(done).to_markdown(index=False) if len(done) else "Nothing yet.", "",
        "## Not yet reproduced", "", "Every number of the paper without a reproduction in this build, by table.", "",
        pending_summary(table).to_markdown(index=False), "",
    ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines))
