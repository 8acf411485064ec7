"""Issue 29, item 5: an unreachable download of any kind (a registered model with several mirrors, the judge's FID
Inception weights, CLIP and ADM's reference batch) ends in one line within 5 s; a file already cached is used with no
network at all; a slow transfer from a host that answered is not cut short.

No network: hanging hosts are local sockets that accept connections and never answer (and an unroutable address),
working ones a loopback HTTP server.
"""
import socket
import threading
import time

import pytest
import requests

from semantic_bottleneck.checkpoints import download, hosts, judge_files
from semantic_bottleneck.checkpoints.download import Mirror, ModelWeights, WeightsError, fetch_weights
from semantic_bottleneck.checkpoints.judge_files import UrlFile, fetch_url
from helpers import checkpoint_bytes, files_under, local_server, read_only_mount

pytestmark = pytest.mark.filterwarnings("ignore:.*no published sha256")
GOOD = checkpoint_bytes()
UNROUTABLE = "http://10.255.255.1/weights.pt"  # a private address no route leads to: nothing ever answers
CLASS_NAMES = ["cat", "red fox"]


@pytest.fixture
def silent():
    """`silent(path)`: a URL on a local socket that accepts connections (the kernel's backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(32)
    yield lambda path: f"http://127.0.0.1:{server.getsockname()[1]}{path}"
    server.close()


@pytest.fixture
def no_network(monkeypatch):
    """Any HTTP request fails the test."""
    def refuse(*args, **kwargs):
        pytest.fail("a cached file must be used without any network")

    monkeypatch.setattr(requests.Session, "request", refuse)


@pytest.fixture
def judge_caches(monkeypatch, tmp_path, silent):
    """Empty caches for the judge's three files (torch.hub, pooch, Hugging Face), and a Hugging Face endpoint that
    never answers."""
    import pooch
    from huggingface_hub import constants

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(pooch, "os_cache", lambda project: tmp_path / "pooch" / project)
    monkeypatch.setattr(constants, "ENDPOINT", silent(""))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(download, "_HUB_DOWN", {})


def one_line(err):
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def toy(*mirrors):
    return ModelWeights("toy", "MIT", tuple(mirrors), "1 kB")


# ----------------------------------------------------------------------------- registered models: every mirror at once

def test_a_model_whose_mirrors_all_hang_fails_in_one_line_within_five_seconds(silent, tmp_path, capfd):
    mirrors = [Mirror((silent(f"/m{i}.pt"),), f"m{i}.pt") for i in range(3)]
    mirrors += [Mirror((silent("/part-a"), silent("/part-b")), "parts.pt"), Mirror((UNROUTABLE,), "far.pt")]
    start = time.monotonic()
    with pytest.raises(WeightsError) as err:
        fetch_weights(toy(*mirrors), tmp_path, progress=False)
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"{len(mirrors)} hanging mirrors took {elapsed:.1f} s"  # one 5 s timeout each would be 25 s
    message = one_line(err)
    assert message.startswith("could not download toy: ") and f"put it at {tmp_path / 'toy' / 'm0.pt'}" in message
    for mirror in mirrors:  # every mirror is named, with its reason
        assert f"{mirror.urls[0]}" in message
    assert message.count(f"no answer within {hosts.REACH_S:g} s") >= 4 and "(+1 parts)" in message
    assert capfd.readouterr().err == "" and files_under(tmp_path) == []


def test_a_hanging_mirror_is_skipped_for_the_next_one_within_the_deadline(silent, tmp_path, monkeypatch):
    monkeypatch.setattr(hosts, "REACH_S", 0.5)
    with local_server({"/good.pt": GOOD}) as server:
        start = time.monotonic()
        path = fetch_weights(toy(Mirror((silent("/hangs.pt"),), "first.pt"), Mirror((server.url("/good.pt"),),
                                                                                     "second.pt")),
                             tmp_path, progress=False)
        elapsed = time.monotonic() - start
    assert path.name == "second.pt" and path.read_bytes() == GOOD
    assert elapsed < 3, f"took {elapsed:.1f} s: the hanging mirror was waited for past the deadline"


def test_a_slow_transfer_from_a_host_that_answered_is_not_cut_by_the_deadline(tmp_path, monkeypatch):
    monkeypatch.setattr(hosts, "REACH_S", 0.3)
    with local_server({"/slow.pt": GOOD}) as server:
        server.hold["/slow.pt"] = threading.Event()  # half the file, then a pause longer than the deadline
        threading.Timer(1.0, server.hold["/slow.pt"].set).start()
        start = time.monotonic()
        path = fetch_weights(toy(Mirror((server.url("/slow.pt"),), "toy.pt")), tmp_path, progress=False)
    assert path.read_bytes() == GOOD and time.monotonic() - start >= 1.0


def test_a_cached_model_is_used_without_any_network(tmp_path, no_network):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy.pt").write_bytes(GOOD)
    assert fetch_weights(toy(Mirror((UNROUTABLE,), "toy.pt")), tmp_path, progress=False).read_bytes() == GOOD


def test_probes_report_each_host_within_one_deadline(silent):
    with socket.socket() as closed:  # a port that was free a moment ago: refused
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/x"
    with local_server({}) as server:  # answers HEAD with 501: any answer counts as reached
        urls = [silent("/a"), silent("/b"), refused, server.url("/x")]
        start = time.monotonic()
        down = hosts.unreachable(urls, timeout=0.5)
    assert time.monotonic() - start < 1.5
    assert down[urls[0]] == down[urls[1]] == "no answer within 0.5 s"
    assert "refused" in down[refused].lower() and down[server.url("/x")] is None


# ----------------------------------------------------------------------------- the judge's files

@pytest.mark.parametrize("kind", ["inception", "adm"])
def test_an_unreachable_judge_file_is_one_line_naming_it_its_url_and_where_to_put_it(kind, judge_caches, silent,
                                                                                     monkeypatch, capfd):
    monkeypatch.setattr(hosts, "REACH_S", 0.5)
    url = silent("/weights.pth") if kind == "inception" else UNROUTABLE
    monkeypatch.setattr(judge_files, "INCEPTION_URL" if kind == "inception" else "ADM_REFERENCE_URL", url)
    file = judge_files.inception_file() if kind == "inception" else judge_files.adm_reference_file()
    fetch = judge_files.inception_weights_path if kind == "inception" else judge_files.adm_reference_path
    start = time.monotonic()
    with pytest.raises(WeightsError) as err:
        fetch()
    assert time.monotonic() - start < 2
    message = one_line(err)
    what = "the FID Inception weights" if kind == "inception" else "ADM's reference batch"
    assert message.startswith(f"could not download {what}") and f"from {url}: " in message
    assert f"put the file at {file.target} or pass its path as {file.pass_as}" in message
    assert not file.target.exists() and capfd.readouterr().err == ""


def test_the_judge_with_every_host_hanging_fails_in_one_line_within_five_seconds(judge_caches, silent, monkeypatch):
    monkeypatch.setattr(judge_files, "INCEPTION_URL", silent("/inception.pth"))
    monkeypatch.setattr(judge_files, "ADM_REFERENCE_URL", UNROUTABLE)
    start = time.monotonic()
    with pytest.raises(WeightsError) as err:
        judge_files.inception_clip_parts(CLASS_NAMES, clip_model="someone/no-such-clip")
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"took {elapsed:.1f} s"  # one deadline for the three hosts, not one each
    message = one_line(err)
    assert "FID Inception weights" in message and f"no answer within {hosts.REACH_S:g} s" in message
    from huggingface_hub import constants

    assert download._HUB_DOWN[constants.ENDPOINT][1].startswith("no answer")  # probed in the same deadline


def test_clip_on_a_hanging_hub_is_one_line_within_five_seconds_once_the_other_files_are_cached(judge_caches,
                                                                                                 monkeypatch):
    for file in (judge_files.inception_file(), judge_files.adm_reference_file()):
        file.target.parent.mkdir(parents=True)
        file.target.write_bytes(b"cached")
    start = time.monotonic()
    with pytest.raises(WeightsError) as err:
        judge_files.inception_clip_parts(CLASS_NAMES, clip_model="someone/no-such-clip")
    assert time.monotonic() - start < 5
    message = one_line(err)
    assert message.startswith("could not load CLIP someone/no-such-clip: Hugging Face")
    assert "cannot be reached (no answer within 3 s)" in message and "cache cannot serve it" in message


def test_cached_judge_files_are_used_without_any_network(judge_caches, no_network):
    for file in (judge_files.inception_file(), judge_files.adm_reference_file()):
        file.target.parent.mkdir(parents=True)
        file.target.write_bytes(b"cached")
        judge_files.require_reachable([file])
    assert judge_files.inception_weights_path() == judge_files.inception_file().target
    assert judge_files.adm_reference_path() == judge_files.adm_reference_file().target


def test_an_unwritable_judge_cache_is_one_line_before_any_network(tmp_path, no_network, monkeypatch):
    read_only_mount(monkeypatch)(tmp_path)
    file = UrlFile("a judge file", UNROUTABLE, tmp_path / "cache" / "weights.pth", "weights_path")
    with pytest.raises(WeightsError) as err:
        fetch_url(file)
    message = one_line(err)
    assert f"{tmp_path / 'cache'} cannot be written (Read-only file system)" in message
    assert f"download {UNROUTABLE} by hand and pass its path as weights_path" in message
