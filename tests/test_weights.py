"""Weights registry and downloader, against a local HTTP server on 127.0.0.1 only."""
import hashlib
import json
import socket
import time

import pytest
from safetensors.torch import save_file
import torch

from semantic_bottleneck.checkpoints.download import (Mirror, ModelWeights, WeightsError, fetch_weights, file_problem,
                                                      from_hub, weights_dir)
from helpers import HTML_PAGE as HTML, checkpoint_bytes, local_server

pytestmark = pytest.mark.filterwarnings("ignore:.*no published sha256")
GOOD = checkpoint_bytes()


@pytest.fixture
def server():
    """A local HTTP server; set `server.files[path] = bytes`, read `server.hits`, build URLs with `server.url`."""
    with local_server({"/good.pt": GOOD, "/page.pt": HTML, "/a": GOOD[:100], "/b": GOOD[100:]}) as httpd:
        yield httpd


def toy(*mirrors):
    """A registry entry for the local server."""
    return ModelWeights("toy", "MIT", tuple(mirrors), "1 kB")


def one(server, path, filename="toy.pt", **published):
    return Mirror((server.url(path),), filename, **published)


def leftovers(cache):
    """Every file under the cache (an unfinished download would show up here)."""
    return sorted(p.name for p in cache.rglob("*") if p.is_file())


def test_download_records_sha256_then_verifies_it(server, tmp_path):
    model = toy(one(server, "/good.pt"))
    path = fetch_weights(model, tmp_path, progress=False)
    assert path.read_bytes() == GOOD and leftovers(tmp_path) == ["toy.pt", "toy.pt.json"]
    record = json.loads((path.parent / "toy.pt.json").read_text())
    assert record["sha256"] == hashlib.sha256(GOOD).hexdigest() and record["url"] == server.url("/good.pt")
    assert fetch_weights(model, tmp_path, progress=False) == path and len(server.hits) == 1  # verified, not fetched
    corrupt = bytearray(GOOD)
    corrupt[len(corrupt) // 2] ^= 0xFF  # same size, same magic: only the recorded sha256 catches it
    path.write_bytes(bytes(corrupt))
    with pytest.warns(UserWarning, match="sha256"):
        assert fetch_weights(model, tmp_path, progress=False).read_bytes() == GOOD
    assert len(server.hits) == 2


@pytest.mark.parametrize("bad", [HTML, GOOD[: len(GOOD) // 2]], ids=["html-page", "truncated"])
def test_bad_file_in_cache_is_fetched_again(server, tmp_path, bad):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy.pt").write_bytes(bad)  # e.g. a Drive quota page saved under the checkpoint's name
    with pytest.warns(UserWarning, match="fetching it again"):
        path = fetch_weights(toy(one(server, "/good.pt")), tmp_path, progress=False)
    assert path.read_bytes() == GOOD and len(server.hits) == 1


def test_wrong_checksum_fails_and_leaves_nothing(server, tmp_path):
    with pytest.raises(WeightsError, match="checksum mismatch") as err:
        fetch_weights(toy(one(server, "/good.pt", sha256="0" * 64)), tmp_path, progress=False)
    assert "\n" not in str(err.value) and leftovers(tmp_path) == []


def test_html_page_served_as_checkpoint_is_detected(server, tmp_path):
    with pytest.raises(WeightsError, match="HTML page") as err:
        fetch_weights(toy(one(server, "/page.pt")), tmp_path, progress=False)
    assert server.url("/page.pt") in str(err.value) and leftovers(tmp_path) == []


def test_connection_refused_fails_fast_with_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/DiT-XL-2-256x256.pt"
    start = time.perf_counter()
    with pytest.raises(WeightsError) as err:
        fetch_weights(toy(Mirror((url,), "toy.pt")), tmp_path, progress=False)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "\n" not in message and "toy" in message and url in message and "refused" in message.lower()
    assert leftovers(tmp_path) == []


def test_falls_back_to_the_next_mirror_and_joins_parts(server, tmp_path):
    path = fetch_weights(toy(one(server, "/gone.pt"), one(server, "/good.pt", "other.pt")), tmp_path, progress=False)
    assert path.name == "other.pt" and path.read_bytes() == GOOD
    joined = fetch_weights(toy(Mirror((server.url("/a"), server.url("/b")), "joined.pt")), tmp_path / "p",
                           progress=False)
    assert joined.read_bytes() == GOOD


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(WeightsError, match="HTTP 404"):
        fetch_weights(toy(one(server, "/gone.pt")), tmp_path, progress=False)


def test_the_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path / "cache"))
    assert weights_dir() == tmp_path / "cache" and weights_dir(tmp_path / "other") == tmp_path / "other"


def test_a_registered_file_in_the_cache_is_used_offline_and_its_hash_recorded(tmp_path, monkeypatch):
    from semantic_bottleneck import registry

    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    target = tmp_path / "dit-xl" / "DiT-XL-2-256x256.pt"
    target.parent.mkdir()
    target.write_bytes(GOOD)
    assert registry.model("dit-xl").source.file(progress=False) == target
    assert json.loads((target.parent / "DiT-XL-2-256x256.pt.json").read_text())["sha256"] == hashlib.sha256(GOOD).hexdigest()


def test_file_problem_checks_safetensors_length(tmp_path):
    save_file({"w": torch.randn(64, 64)}, str(tmp_path / "x.safetensors"))
    assert file_problem(tmp_path / "x.safetensors") is None
    data = (tmp_path / "x.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-100])
    assert "truncated" in file_problem(tmp_path / "cut.safetensors")


def test_hub_failures_become_one_line_naming_what_was_being_loaded(monkeypatch):
    import huggingface_hub

    from semantic_bottleneck.checkpoints.load import imagenet_class_names

    def offline(*args, **kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("An error happened while trying to locate the file.\n"
                                                              "Please check your connection and try again.")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(WeightsError) as err:
        imagenet_class_names()
    message = str(err.value)
    assert "\n" not in message and "ImageNet class names" in message and "LocalEntryNotFoundError" in message
    assert from_hub("x", lambda: 3) == 3
