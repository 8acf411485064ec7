"""Running the rows: an interrupted run resumes from the rows it finished, with the same numbers."""
import pytest
import torch

from semantic_bottleneck.chapters.pruning.rows import row_specs
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study import protocol as study
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = DiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=2, num_heads=2, num_classes=5)
LABELS = ClassLabels(5)


def setup():
    """A random tiny DiT, its embedding, a classifier judge and a 3-step protocol with 2 seeds of 5 samples."""
    model = helpers.random_dit(CONFIG)
    embedding = ConditionEmbedding.from_state_dict(model.state_dict(), t0=999)
    judge = helpers.small_judge(image_size=8, references=30, kid_subsets=3, kid_subset_size=5)
    protocol = study.Protocol("tiny-class", preset("tiny-ddim-10", num_steps=4), 5, 2, 0, 4, "5 per class")
    specs = row_specs("fraction", "per_sample", k=2)
    return model, embedding, judge, protocol, specs


def count_forwards(model):
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append(1))
    return calls


def test_a_finished_run_is_read_back_without_sampling(tmp_path):
    model, embedding, judge, protocol, specs = setup()
    first, images, per_sample = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    calls = count_forwards(model)
    again, images_again, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False,
                                         resume_dir=tmp_path)
    assert not calls and first.equals(again)
    seed_1 = first[(first["row"] == "baseline") & (first["replicate"] == 1) & (first["metric"] == "class_agreement")]
    assert per_sample["baseline"]["class_agreement"].shape == (10,)  # 2 seeds x 5 samples, in global-index order
    assert per_sample["baseline"]["class_agreement"][5:].mean().item() == pytest.approx(seed_1["value"].item())
    assert all(torch.equal(images[r], images_again[r]) for r in images)
    other = study.Protocol("tiny-class", protocol.sampler, 5, 2, 1, 4, "5 per class")  # another base seed: another run
    study.run_rows(model, {}, other, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    assert calls and len(list(tmp_path.iterdir())) == 2


class SessionEnded(Exception):
    """Stands for a Colab session that ends mid-run."""


def test_an_interrupted_run_resumes_at_the_first_unfinished_row(tmp_path, monkeypatch):
    model, embedding, judge, protocol, specs = setup()
    full, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False)
    rows_started, ended = [], []
    real_generate = study.generate

    def failing_generate(*args, **kwargs):
        rows_started.append(1)
        if len(rows_started) == 4 and not ended:
            ended.append(1)
            raise SessionEnded  # while the fourth row samples
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(study, "generate", failing_generate)
    with pytest.raises(SessionEnded):
        study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    rows_started.clear()
    resumed, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    assert len(rows_started) == len(specs) - 3  # the baseline and two rows came from disk
    assert resumed.equals(full)  # last-k rows restarted from the saved baseline state give the same numbers
