"""Bad input and faults (issue 14) of the weights cache and downloads: nothing half-written is left, nothing good is
deleted, nothing trusted that should not be; a read-only cache serves what it holds. Downloads come from a local HTTP
server on 127.0.0.1 only.
"""
import hashlib
import json
import os
from pathlib import Path
import signal
import threading
import time

import pytest
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.checkpoints import download
from semantic_bottleneck.checkpoints.download import Mirror, ModelWeights, WeightsError, fetch_weights
from helpers import HTML_PAGE, checkpoint_bytes, dit_state, files_under, local_server, one_error_line, read_only_mount

pytestmark = pytest.mark.filterwarnings("ignore:.*no published sha256")
GOOD = checkpoint_bytes()
OTHER = checkpoint_bytes()  # another file of the same kind: a second mirror's copy


@pytest.fixture
def read_only(monkeypatch):
    """`read_only(folder)`: the folder behaves like a read-only mount."""
    return read_only_mount(monkeypatch)


@pytest.fixture
def server():
    """A loopback HTTP server with two copies of one checkpoint (as fp32 and fp16 mirrors serve different files)."""
    with local_server({"/a.pt": GOOD, "/b.pt": OTHER, "/page.pt": HTML_PAGE}) as httpd:
        yield httpd


def mirror(server, path, filename="toy.pt", **published):
    """A mirror of the local server, with its published sha256/size if given."""
    return Mirror((server.url(path),), filename, **published)


def toy(*mirrors):
    return ModelWeights("toy", "MIT", tuple(mirrors), "1 kB")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_published_hashes_are_per_mirror_and_verified(server, tmp_path, recwarn):
    fp32 = mirror(server, "/gone.pt", "model.pt", sha256=sha(GOOD), size=len(GOOD))
    fp16 = mirror(server, "/b.pt", "model-fp16.pt", sha256=sha(OTHER), size=len(OTHER))
    path = fetch_weights(toy(fp32, fp16), tmp_path, progress=False)
    assert path.name == "model-fp16.pt" and path.read_bytes() == OTHER  # the second mirror's own hash
    record = json.loads(Path(f"{path}.json").read_text())
    assert record["verified"] is True and record["sha256"] == sha(OTHER) and record["size"] == len(OTHER)
    assert not [w for w in recwarn if "not verified" in str(w.message)]


def test_a_published_size_or_hash_that_does_not_match_is_refused(server, tmp_path):
    with pytest.raises(WeightsError, match=f"served {len(GOOD)} bytes, expected 5"):
        fetch_weights(toy(mirror(server, "/a.pt", size=5)), tmp_path, progress=False)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        fetch_weights(toy(mirror(server, "/a.pt", sha256=sha(OTHER))), tmp_path, progress=False)
    assert files_under(tmp_path) == []


def test_first_download_says_its_hash_is_only_recorded(server, tmp_path):
    with pytest.warns(UserWarning, match=r"toy.pt has no published sha256: recorded \w+\.\.\. on this first download, "
                                         "not verified"):
        path = fetch_weights(toy(mirror(server, "/a.pt")), tmp_path, progress=False)
    assert json.loads(Path(f"{path}.json").read_text())["verified"] is False


def test_the_hash_is_kept_by_size_and_mtime_so_a_cached_file_is_not_read_again(server, tmp_path, monkeypatch):
    model = toy(mirror(server, "/a.pt"))
    path = fetch_weights(model, tmp_path, progress=False)
    hashed = []
    real = download.file_sha256
    monkeypatch.setattr(download, "file_sha256", lambda p: hashed.append(p) or real(p))
    assert fetch_weights(model, tmp_path, progress=False) == path and hashed == []
    later = path.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))  # touched: hashed once more, found equal, the record follows the new mtime
    assert fetch_weights(model, tmp_path, progress=False) == path and hashed == [path]
    assert json.loads(Path(f"{path}.json").read_text())["mtime_ns"] == later and len(server.hits) == 1


@pytest.mark.parametrize("record", ["{ truncated", "[1, 2]", '{"sha256": 5}'], ids=["not-json", "list", "wrong-types"])
def test_an_unreadable_record_beside_a_good_file_is_rewritten(record, tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy.pt").write_bytes(GOOD)
    (tmp_path / "toy" / "toy.pt.json").write_text(record)
    with pytest.warns(UserWarning, match="no readable record: recording its sha256"):
        path = fetch_weights(toy(Mirror(("http://127.0.0.1:9/x",), "toy.pt")), tmp_path, progress=False)
    assert path.read_bytes() == GOOD and json.loads(Path(f"{path}.json").read_text())["sha256"] == sha(GOOD)


def test_a_read_only_cache_serves_what_it_holds(tmp_path, read_only, capsys, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    (tmp_path / "sit-xl").mkdir()
    torch.save(dit_state(1), tmp_path / "sit-xl" / "SiT-XL-2-256.pt")  # a good file, no record
    read_only(tmp_path)
    assert main(["stats", "sit-xl", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["model"] == "sit-xl" and "Traceback" not in captured.err
    assert "warning: cannot write" in captured.err and "Read-only file system" in captured.err
    assert files_under(tmp_path) == ["sit-xl/SiT-XL-2-256.pt"]


def test_a_read_only_cache_without_the_file_ends_in_one_line(tmp_path, read_only, capsys, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    read_only(tmp_path)
    status = main(["stats", "dit-xl"])
    one_error_line(capsys, status, 1, f"the weights cache {tmp_path / 'dit-xl'} cannot be written",
                   "Read-only file system", "SEMANTIC_BOTTLENECK_WEIGHTS")


def test_a_cached_file_that_fails_stays_until_a_good_copy_arrives(server, tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy.pt").write_bytes(HTML_PAGE)  # a quota page saved under the checkpoint's name
    with pytest.warns(UserWarning, match="stays until a good copy"), pytest.raises(WeightsError) as err:
        fetch_weights(toy(mirror(server, "/gone.pt")), tmp_path, progress=False)
    assert "kept the damaged cached toy.pt" in str(err.value) and (folder / "toy.pt").read_bytes() == HTML_PAGE
    with pytest.warns(UserWarning, match="fetching it again"):
        path = fetch_weights(toy(mirror(server, "/a.pt")), tmp_path, progress=False)
    assert path.read_bytes() == GOOD and files_under(tmp_path) == ["toy/toy.pt", "toy/toy.pt.json"]


def test_a_damaged_file_of_another_mirror_goes_once_a_good_copy_arrived(server, tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "first.pt").write_bytes(GOOD[: len(GOOD) // 2])
    model = toy(mirror(server, "/gone.pt", "first.pt"), mirror(server, "/a.pt", "second.pt"))
    with pytest.warns(UserWarning, match="truncated"):
        assert fetch_weights(model, tmp_path, progress=False).name == "second.pt"
    assert files_under(tmp_path) == ["toy/second.pt", "toy/second.pt.json"]


def test_a_recorded_hash_catches_a_changed_file(server, tmp_path):
    model = toy(mirror(server, "/a.pt"))
    path = fetch_weights(model, tmp_path, progress=False)
    corrupt = bytearray(GOOD)
    corrupt[len(corrupt) // 2] ^= 0xFF  # same size and magic; a new mtime: hashed again, differs from the record
    path.write_bytes(bytes(corrupt))
    with pytest.warns(UserWarning, match="not the .* recorded when it was downloaded"):
        assert fetch_weights(model, tmp_path, progress=False).read_bytes() == GOOD


def test_a_folder_where_the_cached_file_should_be(tmp_path):
    (tmp_path / "toy" / "toy.pt").mkdir(parents=True)
    with pytest.raises(WeightsError, match="toy.pt is a folder, where the cache keeps toy's file; move it away"):
        fetch_weights(toy(Mirror(("http://127.0.0.1:9/x",), "toy.pt")), tmp_path, progress=False)


def test_stale_part_files_are_removed_and_live_ones_kept(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy.pt").write_bytes(GOOD)
    stale, live = folder / "toy.pt.abc.part", folder / "toy.pt.def.part"
    for part in (stale, live):
        part.write_bytes(b"\0" * 100)
    old = time.time() - download.STALE_PART_S - 60
    os.utime(stale, (old, old))
    fetch_weights(toy(Mirror(("http://127.0.0.1:9/x",), "toy.pt")), tmp_path, progress=False)
    assert not stale.exists() and live.exists()


def test_sigterm_during_a_download_removes_the_part_file(server, tmp_path):
    server.hold["/a.pt"] = threading.Event()  # the server sends half the file, then waits
    fallback = []

    def record(*args):
        fallback.append(args)

    previous = signal.signal(signal.SIGTERM, record)  # should the download not catch it: no death of pytest
    main_thread = threading.main_thread().ident

    def terminate_once_downloading():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (server.hits and list(tmp_path.rglob("*.part"))):
            time.sleep(0.01)
        time.sleep(0.2)
        signal.pthread_kill(main_thread, signal.SIGTERM)

    threading.Thread(target=terminate_once_downloading, daemon=True).start()
    try:
        with pytest.raises(SystemExit) as stopped:
            fetch_weights(toy(mirror(server, "/a.pt")), tmp_path, progress=False)
        restored = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.hold["/a.pt"].set()
    assert stopped.value.code == 128 + signal.SIGTERM and fallback == [] and restored is record
    assert files_under(tmp_path) == []


def test_published_hashes_and_sizes_in_the_registry_are_well_formed():
    from semantic_bottleneck.registry import DECODERS, MODELS

    files = [*DECODERS.values(), *(getattr(m.source, "weights", None) for m in MODELS.values())]
    for weights in filter(None, files):
        for m in weights.mirrors:
            assert m.sha256 is None or (len(m.sha256) == 64 and set(m.sha256) <= set("0123456789abcdef")), m
            assert m.size is None or (isinstance(m.size, int) and m.size > 0), m
