"""Sampling on several processes (torch.distributed, gloo): the numbers of one process, resumable with another count.

The command tests run `prune` under the `ci` profile as a user would: `python -m semantic_bottleneck prune` for one
process, `torchrun --standalone --nproc_per_node 2` for two.
"""
from dataclasses import replace
from pathlib import Path
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.book.driver import resolved_parameters
from semantic_bottleneck.chapters.pruning.rows import row_specs, table2_specs
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.settings import resolve, settings_class
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study import protocol as study
from semantic_bottleneck.study.distributed import Team
from semantic_bottleneck.study.judges import build_judge
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = DiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=2, num_heads=2, num_classes=5)
LABELS = ClassLabels(5)
PRUNE = ["-m", "semantic_bottleneck", "prune", "--profile", "ci"]
ONE_PROCESS = [sys.executable, *PRUNE]
TWO_PROCESSES = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *PRUNE]


def small_study():
    """A random tiny DiT, its embedding, a small judge, a 4-step protocol of 2 seeds x 4 samples in batches of 4.

    Two processes then see the batches of one, so that their numbers are equal, not only to float rounding (a
    random network amplifies the rounding differences of other batch shapes)."""
    model = helpers.random_dit(CONFIG)
    embedding = ConditionEmbedding.from_state_dict(model.state_dict(), t0=999)
    judge = helpers.small_judge(image_size=8, references=30, kid_subsets=3, kid_subset_size=5)
    protocol = study.Protocol("tiny-class", preset("tiny-ddim-10", num_steps=4), 4, 2, 0, 4, "4 labels")
    return model, embedding, judge, protocol, row_specs("fraction", "per_sample", k=2)


# ----------------------------------------------------------------------------- shares and sentences

@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_shares_are_contiguous_in_rank_order_and_cover_every_index_once(size):
    for count in (size, 7 + size, 80):
        shares = [Team(size, rank).share(range(count)) for rank in range(size)]
        assert [i for share in shares for i in share] == list(range(count))  # rank order = global-index order
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_the_protocol_table_says_how_many_processes_produced_the_rows():
    long = pd.DataFrame({"row": ["baseline", "baseline", "a", "b"], "replicate": [0, 1, 0, 0],
                         "metric": "fid", "value": 1.0, "processes": [2, 2, 2, 1]})
    assert study.describe_processes(long).startswith("1 for b; 2 for baseline, a: each row's sample indices split")
    assert study.describe_processes(long[long["row"] != "b"]).startswith("2 (every row): each row's")
    assert study.describe_processes(long[long["row"] == "b"]) == "1 (every row)"


def test_several_processes_store_rows_so_they_need_a_row_store_and_a_sample_each():
    model, embedding, judge, protocol, specs = small_study()
    with pytest.raises(ValueError, match="resume_dir"):
        study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, team=Team(2, 0))
    with pytest.raises(ValueError, match="processes must be at most the number of samples per row"):
        study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir="x",
                       team=Team(11, 0))


def test_bad_arguments_end_in_one_error_line(tmp_path, capsys):
    assert main(["prune", "--profile", "ci", "--model", "no-such-model", "--resume-dir", str(tmp_path)]) == 2
    missing = str(tmp_path / "no" / "rows.csv")
    assert main(["prune", "--profile", "ci", "--resume-dir", str(tmp_path), "--out", missing]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: --model: model must be one of") and "no-such-model" in lines[0]
    assert lines[1].startswith("error: out must be a file in an existing folder")


# ----------------------------------------------------------------------------- run_rows on two gloo processes

def _sample_rows_on(team, folder):
    """One process of a two-process run of every row into `folder` (whose baseline one process stored)."""
    model, embedding, judge, protocol, specs = small_study()
    out = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=folder, team=team)
    assert out == (None, None, None)  # several processes store; one process scores


@pytest.mark.slow
def test_rows_sampled_by_two_processes_from_a_stored_baseline_score_as_one_process(tmp_path, monkeypatch):
    model, embedding, judge, protocol, specs = small_study()
    full, images, per_sample = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False)
    # One process stores the baseline (recording the state the last-k row starts from) and another last-k row
    other = {"other": replace(specs["tail_tau0.01_last_k_steps"], branch="conditional")}
    study.run_rows(model, other, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    helpers.on_gloo(_sample_rows_on, 2, tmp_path)  # the last-k row starts from the stored state, split between them
    monkeypatch.setattr(study, "generate", lambda *args, **kwargs: pytest.fail("a stored row was sampled again"))
    again, images_again, per_sample_again = study.run_rows(model, specs, protocol, judge, LABELS, embedding,
                                                           progress=False, resume_dir=tmp_path)
    processes = again.groupby("row", sort=False)["processes"].first()
    assert processes["baseline"] == 1 and set(processes.drop("baseline")) == {2}
    assert again.drop(columns="processes").equals(full.drop(columns="processes"))
    for row in specs:
        assert torch.equal(images_again[row], images[row])  # the first images: rank 0's, then rank 1's
        assert torch.equal(per_sample_again[row]["class_agreement"], per_sample[row]["class_agreement"])


# ----------------------------------------------------------------------------- the command, as a user runs it

def prune(command, folder, log):
    """Run the prune command into the row store `folder`; its table (`folder/rows.csv`)."""
    with open(log, "w") as out:
        done = subprocess.run([*command, "--resume-dir", str(folder)], stdout=out, stderr=subprocess.STDOUT)
    assert done.returncode == 0, Path(log).read_text()[-3000:]
    return pd.read_csv(folder / "rows.csv")


def stored_rows(folder):
    """The finished rows in a row store (files being written start with a dot)."""
    return [path for path in Path(folder).rglob("*.pt") if not path.name.startswith(".")]


def killed_after_first_row(command, folder, log, timeout=900):
    """Start the command and send it SIGTERM (as a batch system at its time limit) once it has stored a row;
    the number of rows stored by then."""
    with open(log, "w") as out:
        running = subprocess.Popen([*command, "--resume-dir", str(folder)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while running.poll() is None and not stored_rows(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        running.send_signal(signal.SIGTERM)  # torchrun passes it on to its processes
        running.wait()
    assert running.returncode != 0 and stored_rows(folder), Path(log).read_text()[-3000:]
    return len(stored_rows(folder))


def assert_same_table(got, expected):
    """Two rows.csv tables are equal but for the process count: every number to a relative 1e-3, counts exactly."""
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    for column in expected.columns.drop("processes"):
        if expected[column].dtype.kind == "f":
            assert np.allclose(got[column], expected[column], rtol=1e-3, atol=1e-9, equal_nan=True), column
        else:
            assert got[column].fillna("").tolist() == expected[column].fillna("").tolist(), column


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The ci table from one process (trains the ci tiny model and classifier into the session's cache)."""
    folder = tmp_path_factory.mktemp("one-process")
    return prune(ONE_PROCESS, folder, folder.parent / "one-process.log")


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, one_process):
    """The row store and table of two processes under torchrun."""
    folder = tmp_path_factory.mktemp("two-processes")
    return folder, prune(TWO_PROCESSES, folder, folder.parent / "two-processes.log")


@pytest.mark.slow
def test_two_processes_give_the_table_of_one(one_process, two_processes):
    table = two_processes[1]
    assert_same_table(table, one_process)
    assert set(table["processes"]) == {2} and set(one_process["processes"]) == {1}
    assert (table["samples"] == table["seeds"] * resolved_parameters("ci", "03_pruning")["samples_per_seed"]).all()


@pytest.mark.slow
def test_a_run_killed_after_its_first_row_continues_on_one_process_with_the_same_table(tmp_path, one_process):
    stored = killed_after_first_row(TWO_PROCESSES, tmp_path / "rows", tmp_path / "killed.log")
    assert stored < len(one_process)
    table = prune(ONE_PROCESS, tmp_path / "rows", tmp_path / "restarted.log")
    assert_same_table(table, one_process)
    processes = table.set_index("row")["processes"]
    assert processes["baseline"] == 2 and (processes == 2).sum() == stored and (processes == 1).sum() > 0


@pytest.mark.slow
def test_the_notebook_pointed_at_the_row_store_renders_without_sampling(two_processes, monkeypatch):
    folder, table = two_processes
    params = resolve(settings_class("03_pruning"), {"profile": "ci", "resume_dir": str(folder)})[0]
    judge = build_judge(params.judge, params, model="tiny-class")  # as the notebook's cell
    monkeypatch.setattr(study, "generate", lambda *args, **kwargs: pytest.fail("a stored row was sampled again"))
    result = study.run_study("tiny-class", params, judge, table2_specs, progress=False)
    assert result.protocol.table(judge)["value"]["processes"].startswith("2 (every row):")
    fid = result.summary[result.summary["metric"] == "fid"].set_index("row")["mean"]
    assert np.allclose(fid[table["row"]], table["fid"], rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("notebook, studies", [("04_pose_guided", "presets"), ("05_video_to_audio", None)])
def test_the_pose_and_audio_chapters_run_through_the_same_command(tmp_path, notebook, studies):
    params = resolved_parameters("ci", notebook)
    table = prune([*ONE_PROCESS, "--notebook", notebook], tmp_path / "rows", tmp_path / "log")
    if studies:
        expected = set(params[studies])
    else:
        expected = {"with guidance"} | ({"without guidance"} if params["unguided"] else set())
    assert set(table["study"]) == expected and set(table["processes"]) == {1}
    assert (table["samples"] == params["seeds"] * params["samples_per_seed"]).all()
    assert (table.groupby("study")["row"].first() == "baseline").all()
