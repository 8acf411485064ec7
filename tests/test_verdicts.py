"""Chapter verdicts: their vocabulary, their table and sentences, and their gathering on the status page."""
import pytest

from semantic_bottleneck.book import status_page
from semantic_bottleneck.book.provenance import Run
from semantic_bottleneck.chapters.verdicts import Verdict, model_label, verdict_sentences, verdict_table
from semantic_bottleneck.settings import Settings


def _verdict(**changes):
    fields = {"phenomenon": "c is one direction", "paper": "cosine > 0.99", "this_build": "cosine 0.986",
              "verdict": "not reproduced", "noise": "none (one deterministic model)", "model": "tiny-class, seed 0"}
    return Verdict(**{**fields, **changes})


def test_a_verdict_outside_the_vocabulary_or_without_its_noise_is_refused():
    with pytest.raises(ValueError, match="verdict must be one of reproduced, not reproduced, inverted"):
        _verdict(verdict="partly")
    with pytest.raises(ValueError, match="noise of a verdict must not be empty"):
        _verdict(noise=" ")


def test_table_and_sentences_say_the_same_thing():
    verdicts = [_verdict(), _verdict(phenomenon="tail is harmless", verdict="inverted", this_build="SSIM 0.54 -> 0.00")]
    table = verdict_table(verdicts)
    assert list(table.columns) == ["phenomenon", "paper", "this build", "verdict", "noise", "model"]
    assert list(table["verdict"]) == ["not reproduced", "inverted"]
    text = verdict_sentences(verdicts)
    assert text.count("\n- ") == 1 and "**tail is harmless** (tiny-class, seed 0): inverted. This build: SSIM" in text
    with pytest.raises(ValueError, match="at least one"):
        verdict_table([])


def test_status_page_gathers_every_chapters_verdicts(tmp_path):
    for notebook, kinds in {"01_x": ["reproduced", "inverted"], "04_y": ["not testable here"]}.items():
        run = Run(notebook, Settings(profile="ci", output_dir=str(tmp_path)))
        run.save_verdicts(verdict_table([_verdict(phenomenon=f"p{i}", verdict=k) for i, k in enumerate(kinds)]))
    gathered = status_page.chapter_verdicts(tmp_path)
    assert list(gathered["notebook"]) == ["01_x", "01_x", "04_y"] and set(gathered["profile"]) == {"ci"}
    summary = status_page.verdict_summary(gathered).set_index("chapter")
    assert summary.loc["01_x", "inverted"] == 1 and summary.loc["04_y", "not testable here"] == 1
    assert summary.loc["04_y", "reproduced"] == 0
    page = tmp_path / "status.md"
    status_page.write_status_page(tmp_path, page)
    text = page.read_text()
    assert "## Verdicts, chapter by chapter" in text and "### 04_y (ci profile)" in text
    assert "cosine 0.986" in text


@pytest.mark.parametrize("name,config", [("tiny-class", "tiny_train_config"), ("tiny-pose", "pose_train_config")])
def test_a_model_trained_here_is_named_with_its_training_seed(name, config):
    from semantic_bottleneck.tiny.classes import class_model
    from semantic_bottleneck.tiny.people import pose_model

    seed = getattr({"tiny_train_config": class_model, "pose_train_config": pose_model}[config], config)("ci").seed
    assert model_label(name, "ci") == f"{name}, ci profile, training seed {seed}"


def test_every_model_trained_here_has_a_training_seed_and_a_release_is_named_as_one():
    from semantic_bottleneck import registry

    for name in registry.MODELS:
        label = model_label(name, "ci")
        assert ("training seed" in label) != ("official checkpoint" in label), label
    assert model_label("repa-xl", "paper") == "repa-xl, official checkpoint (paper profile)"
    assert "training seed" in model_label("tiny-mdsgen", "ci") and "training seed" in model_label("tiny-in-context", "ci")
