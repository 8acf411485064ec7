"""`python -m semantic_bottleneck prune`: a sampling chapter's pruning studies outside its notebook, on one process
or on many (`torchrun --nproc_per_node N -m semantic_bottleneck prune ...`), with the numbers of one process.

Every process samples its share of each unfinished row; rank 0 gathers and writes the row into the row store in
`--resume-dir` (the notebook's `resume_dir`: a notebook pointed there renders from the rows without sampling).
Then rank 0 alone, out of the process group, reads the rows back and scores them as the notebook does, and
writes the whole table to `--out` (CSV, one line per row). A killed run restarted, with any number of processes,
continues with the first unfinished row. A chapter joins the command with one entry of `CHAPTERS`, keyed by its
notebook's name: its `study` module, whose `models(settings)`, `load(settings, name)` (for a judge that needs the
model loaded) and `run(settings, name, judge, progress, team)` the notebook calls too; each model's judge is the one
its settings name (`settings.judge`, built by `study.judges.build_judge`).
"""
from dataclasses import asdict, fields
import os
from pathlib import Path
import sys
import traceback

import pandas as pd

from ..chapters.audio import study as audio_study
from ..chapters.mechanisms import study as mechanisms_study
from ..chapters.pose import study as pose_study
from ..chapters.pruning import study as pruning_study
from ..checkpoints.download import WeightsError
from ..condition.prune import PruneSpec
from ..profiles import PROFILES
from ..settings import check_writable, resolve, settings_class
from ..study.distributed import join_team
from ..study.judges import build_judge, judge_entry
from ..study.settings_checks import check_settings

SUMMARY = ("mean", "ci95", "delta", "delta_ci95", "noise_floor", "verdict")  # `judge.paired_seeds.summarise`
SPEC_FIELDS = {field.name: None for field in fields(PruneSpec)}  # the baseline's (empty) spec columns


def judge_of(chapter, settings, name):
    """The judge `settings.judge` of one model's rows, given the model loaded where the judge needs it."""
    loaded = chapter.load(settings, name) if "loaded" in judge_entry(settings.judge).needs else None
    return build_judge(settings.judge, settings, model=name, loaded=loaded)


CHAPTERS = {"03_pruning": pruning_study, "04_pose_guided": pose_study, "05_video_to_audio": audio_study,
            "07_mechanisms": mechanisms_study}


def add_arguments(parser):
    """Add the `prune` arguments to an argparse (sub)parser."""
    parser.add_argument("--profile", default="tiny", choices=PROFILES)
    parser.add_argument("--notebook", default="03_pruning", choices=list(CHAPTERS),
                        help="the chapter whose studies run, by notebook name (default: 03_pruning)")
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="a registry name (repeatable, each model once; default: the notebook's models under the "
                             "profile)")
    parser.add_argument("--resume-dir", required=True, metavar="DIR",
                        help="the row store: finished rows are kept here, a restart continues from them")
    parser.add_argument("--out", metavar="CSV", help="the table, one line per row (default: DIR/rows.csv)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def rows_frame(study, label):
    """One line per row of a study: model, study label, row, its spec, processes, samples, seeds, then each metric's
    mean over seeds (named as the metric) and its 95% half-width, paired change, noise floor and verdict."""
    processes = study.long.groupby("row", sort=False)["processes"].first()
    lines = []
    for row, metrics in study.summary.groupby("row", sort=False):
        spec = study.specs.get(row)
        scores = next(iter(study.per_sample[row].values()))  # (N,) in global-index order
        line = {"model": study.model, "study": label, "row": row, "spec": spec.label if spec else "baseline",
                **(asdict(spec) if spec else SPEC_FIELDS), "processes": int(processes[row]), "samples": len(scores),
                "seeds": study.protocol.seeds}
        for metric in metrics.itertuples():
            line.update({metric.metric if stat == "mean" else f"{metric.metric}_{stat}": getattr(metric, stat)
                         for stat in SUMMARY})
        lines.append(line)
    return pd.DataFrame(lines)


def _parameters(args):
    """The chapter's settings under the profile with the row store in `--resume-dir`, its models, the CSV path: every
    one checked before any compute (`settings.resolve`, `study.settings_checks.check_settings`; `--out` writable)."""
    resume_dir = Path(args.resume_dir).resolve()
    if resume_dir.exists() and not resume_dir.is_dir():
        raise ValueError(f"resume-dir must be a folder; {resume_dir} is a file")
    settings = resolve(settings_class(args.notebook), {"profile": args.profile, "resume_dir": str(resume_dir)})[0]
    check_settings(settings, models=args.model, where="--model")
    models = args.model or CHAPTERS[args.notebook].models(settings)
    out = Path(args.out) if args.out else resume_dir / "rows.csv"
    if args.out and not out.parent.is_dir():
        raise ValueError(f"out must be a file in an existing folder; {out.parent} is not one")
    if out.is_dir():
        raise ValueError(f"out must be a file; {out} is a folder")
    check_writable("out", str(out.parent))
    return settings, models, out


def run(args):
    """Run `prune` on parsed arguments.

    0 on success, 2 on bad input, 1 when a download or the file system failed.
    """
    try:
        settings, models, out = _parameters(args)
        chapter = CHAPTERS[args.notebook]
        judges = {}
        with join_team() as team:  # every process samples its share of each unfinished row; rank 0 stores it
            for name in models:
                with team.lead_first():
                    judges[name] = judge_of(chapter, settings, name)
                if team.size > 1:
                    chapter.run(settings, name, judges[name], progress=team.lead, team=team)
            lead = team.lead
        if not lead:
            return 0
        # One process, as the notebook: every stored row is read back and scored (a team of one samples what is not)
        table = pd.concat([rows_frame(study, label) for name in models
                           for label, study in chapter.run(settings, name, judges[name]).items()], ignore_index=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        table.to_csv(tmp, index=False)
        os.replace(tmp, out)
        print(f"{len(table)} rows of {', '.join(models)} ({args.profile} profile; row store {settings.resume_dir}) "
              f"-> {out}")
    except BrokenPipeError:
        raise  # a closed output pipe ends quietly (`__main__`)
    except (WeightsError, ValueError, OSError) as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 1
    return 0
