"""The judge registry: every name a chapter or profile uses is registered, each entry builds the judge it declares,
and a missing need or an unknown name fails in one line before anything loads."""
from types import SimpleNamespace

import pytest
import torch

from semantic_bottleneck.commands import prune_command
from semantic_bottleneck.chapters.compute import study as compute_study
from semantic_bottleneck.profiles import PROFILES
from semantic_bottleneck.settings import SETTINGS, resolve
from semantic_bottleneck.settings.chapters import AudioSettings, ComputeSettings, PoseSettings, PruningSettings
from semantic_bottleneck.study import judges
from semantic_bottleneck.tiny.sounds import audio_eval
from semantic_bottleneck.tiny.people import bodies
from semantic_bottleneck.tiny.classes.classifier import ClassifierConfig, EvalClassifier
from semantic_bottleneck.tiny.people.pose_encoders import EncoderConfig, TokenEncoder

from helpers import Answers

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def random_networks(monkeypatch):
    """The tiny judges' trained networks replaced by random ones of the same kind (nothing trains or loads)."""
    torch.manual_seed(0)
    classifier = EvalClassifier(ClassifierConfig(width=4)).eval()
    pose_network = TokenEncoder(EncoderConfig(task="person", split="heldout", token_width=16)).eval()
    audio_network = audio_eval.MelClassifier(audio_eval.EvalNetConfig(width=4, feature_dim=8)).eval()
    monkeypatch.setattr(judges, "load_eval_classifier", lambda profile: (classifier, 1.0))
    monkeypatch.setattr(judges, "load_eval_network", lambda profile, progress=True: (pose_network, 0.0))
    monkeypatch.setattr(judges, "load_eval_net", lambda config, progress=True: (audio_network, {}))


def _named_judges(settings):
    """The judge names a chapter's settings hold."""
    if hasattr(settings, "judges"):
        return set(settings.judges.values())
    return {settings.judge} if hasattr(settings, "judge") else set()


@pytest.mark.parametrize("profile", PROFILES)
def test_every_judge_a_chapter_names_under_any_profile_is_registered(profile):
    named = {name for cls in SETTINGS.values() for name in _named_judges(resolve(cls, {"profile": profile})[0])}
    assert named and named <= set(judges.JUDGES)


def test_each_tiny_entry_builds_the_metrics_and_reference_it_declares(random_networks):
    answers = bodies.split_pairs("test", range(8)).answer
    pairs = SimpleNamespace(conditions=Answers(answers))
    built = {
        "eval-classifier": judges.build_judge("eval-classifier", PruningSettings(profile="ci", reference_size=12)),
        "audio-eval-network": judges.build_judge("audio-eval-network", AudioSettings(profile="ci", reference_size=6)),
        **{name: judges.build_judge(name, PoseSettings(profile="ci", seeds=2, samples_per_seed=4, batch_size=3),
                                    loaded=pairs) for name in ("tiny-eval", "tiny-eval-agreement", "pixels")}}
    for name, judge in built.items():
        assert tuple(scorer.column for scorer in judge.scorers) == judges.JUDGES[name].metrics, name
    assert built["eval-classifier"].reference.count == 12 and built["audio-eval-network"].reference.count == 6
    assert {built[name].reference.count for name in ("tiny-eval", "tiny-eval-agreement", "pixels")} == {8}
    assert built["tiny-eval"].agreement.column == "ssim" and built["tiny-eval-agreement"].agreement.column == \
        "pose_accuracy"
    assert built["pixels"].kid_subset_size == PoseSettings().kid_subset_size


def test_an_unknown_name_or_a_missing_need_fails_in_one_line_before_anything_loads(monkeypatch):
    monkeypatch.setattr(judges, "load_ast", lambda *a: pytest.fail("loaded AST before checking the needs"))
    with pytest.raises(ValueError, match="judge must be one of eval-classifier, inception-clip, .*; got 'clip'"):
        judges.build_judge("clip", PruningSettings())
    with pytest.raises(ValueError, match="judge inception-clip needs the judged model's registry name"):
        judges.build_judge("inception-clip", PruningSettings())
    with pytest.raises(ValueError, match="judge ast needs the judged model loaded"):
        judges.build_judge("ast", AudioSettings(), model="mdsgen-b")


def test_the_prune_command_loads_the_model_only_for_a_judge_that_needs_it(random_networks):
    loads = []
    answers = bodies.split_pairs("test", range(8)).answer

    def load(settings, name):
        loads.append(name)
        return SimpleNamespace(conditions=Answers(answers))

    chapter = SimpleNamespace(load=load)  # a chapter's study module, as `prune_command.CHAPTERS` holds
    pixels = PoseSettings(judge="pixels", profile="ci", seeds=2, samples_per_seed=4)
    assert prune_command.judge_of(chapter, pixels, "tiny-pose").agreement.column == "ssim" and loads == ["tiny-pose"]
    prune_command.judge_of(chapter, PruningSettings(profile="ci", reference_size=4), "tiny-class")
    assert loads == ["tiny-pose"]


def test_the_compute_chapter_checks_every_models_judge_before_it_runs(monkeypatch):
    monkeypatch.setattr(compute_study, "load_models", lambda *a, **k: pytest.fail("loaded a model before the check"))
    with pytest.raises(ValueError, match="names none for tiny-mdsgen"):
        compute_study.run(ComputeSettings(judges={"tiny-class": "eval-classifier", "tiny-pose": "pixels"}))
    with pytest.raises(ValueError, match="judge must be one of"):
        compute_study.run(ComputeSettings(judges={**ComputeSettings().judges, "tiny-mdsgen": "audio-eval"}))
