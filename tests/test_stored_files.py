"""Issue 29: stored results are keyed by what they depend on (weights included) and checked on every read; a damaged
or foreign file is moved aside (kept) with one warning line and recomputed; meaningless statistics and an unreachable
Hugging Face hub end in one line; `home` sends a run's outputs to one folder."""
from dataclasses import dataclass
import json
import os
from pathlib import Path
import socket
import time

import pytest
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.book.provenance import apply_home
from semantic_bottleneck.cache import MANIFEST, unreadable
from semantic_bottleneck.checkpoints import download
from semantic_bottleneck.checkpoints.download import WeightsError, from_hub
from semantic_bottleneck.condition.measure import check_table, cosine_summary, npr_readings
from semantic_bottleneck.settings import resolve, settings_class
from semantic_bottleneck.study import protocol as study
from semantic_bottleneck.tiny import cached, train
from helpers import EMBEDDER, dit_state, one_error_line
from test_pruning_rows import LABELS, setup
from test_train_cache import SMALL

pytestmark = pytest.mark.usefixtures("one_thread")
LIB = Path(__file__).resolve().parents[1] / "lib" / "semantic_bottleneck"


def row_files(folder):
    return sorted(p for p in Path(folder).rglob("*.pt") if ".bad-" not in p.name)


def set_aside_files(folder):
    return sorted(p.name for p in Path(folder).rglob("*") if ".bad-" in p.name)


# ----------------------------------------------------------------------------- the row store

def test_rows_of_other_weights_are_never_read_back(tmp_path):
    model, embedding, judge, protocol, specs = setup()
    specs = dict(list(specs.items())[:2])
    first, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    with torch.no_grad():
        model.y_embedder.embedding_table.weight.mul_(1.5)  # the same name, other weights (a retrained model)
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append(1))
    other, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    assert calls and len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2  # sampled again, into its own folder
    assert not first.equals(other)


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "another row"])
def test_a_damaged_or_foreign_row_file_is_moved_aside_and_sampled_again(tmp_path, damage):
    model, embedding, judge, protocol, specs = setup()
    specs = dict(list(specs.items())[:2])
    first, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False, resume_dir=tmp_path)
    baseline, row = sorted(row_files(tmp_path), key=lambda p: not p.name.startswith("baseline"))
    data = row.read_bytes()
    row.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"\x80\x02garbage" * 9,
                     "another row": baseline.read_bytes()}[damage])
    with pytest.warns(UserWarning, match=rf"{row.name}.*moved aside to {row.name}\.bad-.*sampling row") as caught:
        again, _, _ = study.run_rows(model, specs, protocol, judge, LABELS, embedding, progress=False,
                                     resume_dir=tmp_path)
    assert again.equals(first)  # recomputed, the same numbers
    assert len(set_aside_files(tmp_path)) == 1 and row.exists()  # kept aside, and the row written anew
    assert not any("weights_only=False" in str(w.message) for w in caught)


# ----------------------------------------------------------------------------- the tiny model cache

@dataclass(frozen=True)
class Toy:
    width: int = 3


def toy_entry(tmp_cache, trained):
    """A cached toy network (`cached.load_or_train`), counting trainings in `trained`."""
    def train_toy(config, progress):
        trained.append(1)
        torch.manual_seed(0)
        return torch.nn.Linear(config.width, 2), {"loss": 0.5}

    cached._LOADED.clear()
    return cached.load_or_train("toy", Toy(), lambda c: torch.nn.Linear(c.width, 2), train_toy, 1, progress=False)


@pytest.mark.parametrize("name, content", [("model.pt", b""), ("model.pt", b"PK\x03\x04trunc"),
                                           ("model.pt", b"\x80\x02}q\x00."), ("record.json", b"{not json"),
                                           ("model.pt", "replaced")])
def test_a_damaged_tiny_model_entry_is_moved_aside_and_trained_again(tmp_cache, name, content):
    trained = []
    network, record = toy_entry(tmp_cache, trained)
    folder = next((tmp_cache / "toy").iterdir())
    if content == "replaced":  # a valid checkpoint of other weights: it does not match its recorded sha256
        torch.save({k: v + 1 for k, v in network.state_dict().items()}, folder / name)
    else:
        (folder / name).write_bytes(content)
    with pytest.warns(UserWarning, match=rf"{folder.name} has a {name} that.*moved aside.*training it again") as seen:
        again, record_again = toy_entry(tmp_cache, trained)
    assert len(trained) == 2 and record_again["loss"] == record["loss"]
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), network.state_dict().values()))
    assert [p.name.startswith(f"{folder.name}.bad-") for p in (tmp_cache / "toy").iterdir()].count(True) == 1
    assert not any("weights_only=False" in str(w.message) for w in seen)


def test_an_entry_from_before_manifests_gets_one_without_training(tmp_cache, recwarn):
    trained = []
    toy_entry(tmp_cache, trained)
    folder = next((tmp_cache / "toy").iterdir())
    (folder / MANIFEST).unlink()
    toy_entry(tmp_cache, trained)
    assert len(trained) == 1 and set(json.loads((folder / MANIFEST).read_text())) == {"model.pt", "record.json"}
    assert not recwarn.list


def test_an_empty_training_log_retrains_the_tiny_dit(tmp_cache):
    _, log, folder = train.load_or_train(SMALL, progress=False)
    (folder / "training_log.csv").write_text("")
    with pytest.warns(UserWarning, match=r"training_log.csv that.*(does not match|cannot be read)"):
        _, again, folder_again = train.load_or_train(SMALL, progress=False)
    assert folder_again == folder and again["loss"].tolist() == pytest.approx(log["loss"].tolist())


def test_no_message_advises_unpickling_with_weights_only_false():
    for path in LIB.rglob("*.py"):
        assert "weights_only=False" not in path.read_text(), path
    try:
        torch.load(__import__("io").BytesIO(b"\x80\x02cos\nsystem\nq\x00."), weights_only=True)
    except Exception as err:  # torch's own text advises it; ours never does
        assert "weights_only" in str(err) and "weights_only" not in unreadable(err)


# ----------------------------------------------------------------------------- meaningless statistics

@pytest.mark.parametrize("table, fragment", [(torch.zeros(4, 8), "all zero"), (torch.randn(4, 8) * 1e-30, "outside"),
                                             (torch.randn(4, 8) * 1e30, "outside"),
                                             (torch.full((4, 8), float("inf")), "not finite")])
def test_statistics_of_a_meaningless_table_refuse_in_one_line(table, fragment):
    for statistic in (cosine_summary, npr_readings):
        with pytest.raises(ValueError, match=fragment):
            statistic(table)
    check_table(torch.randn(4, 8) * 1e-15)  # small but representable: fine


@pytest.mark.parametrize("key, scale, fragment", [(EMBEDDER[0], 1e-30, "y (the class table)"),
                                                  (EMBEDDER[1], 1e36, "c = y + t")])
def test_stats_on_an_underflowing_or_overflowing_checkpoint_is_one_error_line(tmp_path, capsys, key, scale, fragment):
    state = dit_state(0)
    state[key] = state[key] * scale
    torch.save(state, tmp_path / "scaled.pt")
    one_error_line(capsys, main(["stats", str(tmp_path / "scaled.pt"), "--family", "dit"]), 2, fragment)


# ----------------------------------------------------------------------------- an unreachable Hugging Face hub

@pytest.fixture
def silent_hub(monkeypatch, tmp_path):
    """The hub's endpoint is a local socket that accepts connections and never answers; an empty HF cache."""
    from huggingface_hub import constants

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(download, "_HUB_DOWN", {})
    yield
    server.close()


def test_an_unreachable_hub_is_one_line_within_five_seconds(silent_hub):
    from huggingface_hub import hf_hub_download

    start = time.monotonic()
    reason = r"could not load the VAE: Hugging Face .* cannot be reached \(no answer.*cache cannot serve it"
    with pytest.raises(WeightsError, match=reason):
        from_hub("the VAE", lambda: hf_hub_download("someone/vae", "config.json"))
    assert time.monotonic() - start < 5


# ----------------------------------------------------------------------------- one home for every output

def test_home_moves_results_rows_models_and_figures_under_one_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_CACHE", "elsewhere")
    cls = settings_class("03_pruning")
    settings, sources = apply_home("03_pruning", *resolve(cls, {"home": str(tmp_path)}))
    assert settings.output_dir == str(tmp_path / "results") and settings.resume_dir == str(tmp_path / "rows")
    assert os.environ["SEMANTIC_BOTTLENECK_CACHE"] == str(tmp_path / "models") and sources["output_dir"] == "home"
    kept, _ = apply_home("03_pruning", *resolve(cls, {"home": str(tmp_path), "output_dir": "mine"}))
    assert kept.output_dir == "mine"  # an explicit setting stays where it was put
    plain, plain_sources = apply_home("03_pruning", *resolve(cls, {}))
    assert plain.output_dir == "results" and plain.resume_dir == "" and "home" not in plain_sources.values()


def test_a_mechanism_reader_on_an_unreachable_hub_is_one_line_within_five_seconds(silent_hub, monkeypatch, tmp_path):
    from semantic_bottleneck.checkpoints.mechanism_readers import RepoFiles

    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path / "weights"))  # no local stand-in folder
    start = time.monotonic()
    with pytest.raises(WeightsError) as caught:
        RepoFiles("someone/sd3", "sd3-medium").first("model_index.json")
    assert "\n" not in str(caught.value) and "someone/sd3" in str(caught.value)
    assert time.monotonic() - start < 5
