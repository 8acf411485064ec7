"""Running the rows: an interrupted run resumes from the rows it finished, with the same numbers."""
import pytest
import torch

from semantic_bottleneck import metrics, pruning, sample
from semantic_bottleneck.classifier import ClassifierConfig, EvalClassifier
from semantic_bottleneck.conditioning import ConditionEmbedding
from semantic_bottleneck.tiny_dit import TinyDiTConfig
import random_models

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = TinyDiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=2, num_heads=2, num_classes=5)


def setup():
    """A random tiny DiT, its embedding, a classifier judge and a 3-step protocol with 2 seeds of 5 samples."""
    model = random_models.random_dit(CONFIG)
    embedding = ConditionEmbedding.from_state_dict(model.state_dict(), t0=999)
    extractor = metrics.ClassifierFeatures(EvalClassifier(ClassifierConfig(width=4, num_classes=5)).eval())
    reference = metrics.Reference.from_features(extractor(torch.rand(30, 3, 8, 8) * 2 - 1)[0], "random")
    judge = metrics.Judge(extractor, metrics.ClassifierAgreement(), reference, kid_subsets=3, kid_subset_size=5)
    protocol = pruning.Protocol("tiny-class", sample.preset("tiny-ddim-10", num_steps=4), 5, 2, 0, 4, 5)
    specs = pruning.row_specs("fraction", "per_sample", k=2)
    return model, embedding, judge, protocol, specs


def count_forwards(model):
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append(1))
    return calls


def test_a_finished_run_is_read_back_without_sampling(tmp_path):
    model, embedding, judge, protocol, specs = setup()
    first, images = pruning.run_rows(model, specs, protocol, judge, embedding, progress=False, resume_dir=tmp_path)
    calls = count_forwards(model)
    again, images_again = pruning.run_rows(model, specs, protocol, judge, embedding, progress=False,
                                           resume_dir=tmp_path)
    assert not calls and first.equals(again)
    assert all(torch.equal(images[r], images_again[r]) for r in images)
    other = pruning.Protocol("tiny-class", protocol.sampler, 5, 2, 1, 4, 5)  # another base seed: another run
    pruning.run_rows(model, {}, other, judge, embedding, progress=False, resume_dir=tmp_path)
    assert calls and len(list(tmp_path.iterdir())) == 2


class SessionEnded(Exception):
    """Stands for a Colab session that ends mid-run."""


def test_an_interrupted_run_resumes_at_the_first_unfinished_row(tmp_path, monkeypatch):
    model, embedding, judge, protocol, specs = setup()
    full, _ = pruning.run_rows(model, specs, protocol, judge, embedding, progress=False)
    rows_started, ended = [], []
    real_generate = sample.generate

    def failing_generate(*args, **kwargs):
        rows_started.append(1)
        if len(rows_started) == 4 and not ended:
            ended.append(1)
            raise SessionEnded  # while the fourth row samples
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(sample, "generate", failing_generate)
    with pytest.raises(SessionEnded):
        pruning.run_rows(model, specs, protocol, judge, embedding, progress=False, resume_dir=tmp_path)
    rows_started.clear()
    resumed, _ = pruning.run_rows(model, specs, protocol, judge, embedding, progress=False, resume_dir=tmp_path)
    assert len(rows_started) == len(specs) - 3  # the baseline and two rows came from disk
    assert resumed.equals(full)  # last-k rows restarted from the saved baseline state give the same numbers
