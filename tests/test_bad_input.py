"""Bad input and faults (issue 14) of `stats` and the book driver: every mistake ends in one clear line and a non-zero
exit (the traceback only with --debug); nothing half-written is left. Every case is built from files the test writes.
The weights cache's faults are in test_bad_input_cache.py.
"""
import errno
import json
import os

import pytest
from safetensors.torch import save_file
import torch

from semantic_bottleneck.__main__ import main
from semantic_bottleneck.book import driver as book
from helpers import (EMBEDDER, book_sandbox, dit_state, embedder, files_under, one_error_line, read_only_mount,
                     write_notebook)


@pytest.fixture
def read_only(monkeypatch):
    """`read_only(folder)`: the folder behaves like a read-only mount."""
    return read_only_mount(monkeypatch)


# ----------------------------------------------------------------------------- `stats`: files and tensors

def _save(tmp, name, state):
    torch.save(state, tmp / name)
    return tmp / name


def _with(tmp, name, **changes):
    """A DiT-layout checkpoint with embedder tensors replaced: `k0`..`k4` = table, mlp.0 weight, bias, mlp.2 weight, bias."""
    state = dit_state(0)
    for position, value in changes.items():
        state[EMBEDDER[int(position[1:])]] = value
    return _save(tmp, name, state)


def _safetensors(tmp, name, cut=None, bad_header=False):
    path = tmp / "whole.safetensors"
    save_file({k: v.contiguous() for k, v in dit_state(0).items()}, str(path))
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    if bad_header:
        data = data[:8] + b"{" + b"x" * (n - 1) + data[8 + n:]
    (tmp / name).write_bytes(data[:cut] if cut else data)
    return tmp / name


def _unsafe(tmp):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo payload ran",))
    return _save(tmp, "unsafe.pt", {**dit_state(0), "trainer": Payload()})


def _fifo(tmp):
    os.mkfifo(tmp / "pipe.pt")
    return tmp / "pipe.pt"


def _diffusers(tmp, block_names):
    """A diffusers-layout weights file whose embedder copies sit under the given block names."""
    names = ("class_embedder.embedding_table.weight", "timestep_embedder.linear_1.weight",
             "timestep_embedder.linear_1.bias", "timestep_embedder.linear_2.weight", "timestep_embedder.linear_2.bias")
    state = embedder(0)
    flat = {f"transformer_blocks.{b}.norm1.emb.{n}": state[k].clone() for b in block_names for n, k in zip(names, EMBEDDER)}
    save_file(flat, str(tmp / "diffusion_pytorch_model.safetensors"))
    return tmp / "diffusion_pytorch_model.safetensors"


TABLE = embedder(0)[EMBEDDER[0]]


def _poked(tensor, value):
    """A copy of `tensor` with one entry set to `value`."""
    out = tensor.clone()
    out.view(-1)[5] = value  # (numel,)
    return out


STATS_CASES = {  # name: (argv after `stats` from tmp_path, fragments of the one error line)
    "truncated safetensors": (lambda t: [_safetensors(t, "cut.safetensors", cut=-100), "--family", "dit"],
                              ["cut.safetensors", "truncated safetensors"]),
    "safetensors header not JSON": (lambda t: [_safetensors(t, "hdr.safetensors", bad_header=True), "--family", "dit"],
                                    ["hdr.safetensors", "unreadable safetensors header"]),
    "integer table": (lambda t: [_with(t, "int.pt", k0=TABLE.long()), "--family", "dit"],
                      ["y_embedder.embedding_table.weight has dtype int64", "floating-point"]),
    "boolean table": (lambda t: [_with(t, "bool.pt", k0=TABLE > 0), "--family", "dit"], ["dtype bool"]),
    "complex table": (lambda t: [_with(t, "complex.pt", k0=TABLE.to(torch.complex64)), "--family", "dit"],
                      ["dtype complex64"]),
    "NaN weights": (lambda t: [_with(t, "nan.pt", k3=torch.full((32, 32), float("nan"))), "--family", "dit"],
                    ["t_embedder.mlp.2.weight has 1024 of 1024 values that are not finite"]),
    "infinite table entry": (lambda t: [_with(t, "inf.pt", k0=_poked(TABLE, float("inf"))), "--family", "dit"],
                             ["embedding_table.weight has 1 of 384 values that are not finite"]),
    "all-zero table": (lambda t: [_with(t, "zero.pt", k0=torch.zeros(12, 32)), "--family", "dit"],
                       ["rows 0, 1, 2, 3, 4 ... (11 of 11 classes) are all zero"]),
    "bias of the wrong shape": (lambda t: [_with(t, "bias.pt", k2=torch.zeros(31)), "--family", "dit"],
                                ["mlp.0 bias (31,)", "expected (K+1, D)"]),
    "a list where a tensor should be": (lambda t: [_with(t, "list.pt", k0=TABLE.tolist()), "--family", "dit"],
                                        ["embedding_table.weight is a list, not a tensor"]),
    "diffusers family on a DiT file": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "diffusers-dit"],
                                       ["no class table", "original DiT layout"]),
    "diffusers blocks not numbered": (lambda t: [_diffusers(t, ["first", "last"]), "--family", "diffusers-dit"],
                                      ["no class table (transformer_blocks.0."]),
    "t negative": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--t", "-1"],
                   ["t must be an integer in [0, 999] for family dit; got -1.0"]),
    "t 1e9": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--t", "1e9"], ["in [0, 999]"]),
    "t 999 for a [0, 1] family": (lambda t: [_save(t, "sit.pt", dit_state(0)), "--family", "sit", "--t", "999"],
                                  ["t must be a number in [0, 1] for family sit"]),
    "t between DDPM steps": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--t", "10.5"],
                             ["an integer"]),
    "t nan": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--t", "nan"], ["got nan"]),
    "tau inf": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--tau", "0.01", "inf"],
                ["tau must be finite and > 0", "inf"]),
    "tau zero": (lambda t: [_save(t, "dit.pt", dit_state(0)), "--family", "dit", "--tau", "0"], ["tau must be"]),
    "a FIFO": (lambda t: [_fifo(t), "--family", "dit"], ["pipe.pt is a FIFO"]),
    "a FIFO, family detected": (lambda t: [_fifo(t)], ["pipe.pt is a FIFO"]),
    "a device file": (lambda t: ["/dev/null", "--family", "dit"], ["/dev/null is a character device"]),
    "a folder": (lambda t: [t, "--family", "dit"], ["is a folder"]),
    "unsafe pickle": (lambda t: [_unsafe(t), "--family", "dit"], ["unsafe.pt was refused", "names posix.system"]),
}


@pytest.mark.parametrize("case", STATS_CASES)
def test_stats_bad_input_ends_in_one_line(case, tmp_path, capsys):
    build, fragments = STATS_CASES[case]
    status = main(["stats", *map(str, build(tmp_path))])
    captured = one_error_line(capsys, status, 2, *fragments)
    assert captured.out == ""  # nothing half-printed, no NaN written as JSON
    assert "weights_only=False" not in captured.err and "set to `False`" not in captured.err


def test_unsafe_pickle_never_runs_and_debug_shows_the_traceback(tmp_path, capfd):
    path = _unsafe(tmp_path)
    assert main(["stats", str(path), "--family", "dit", "--debug"]) == 2
    captured = capfd.readouterr()
    assert "payload ran" not in captured.out + captured.err
    assert "Traceback" in captured.err and captured.err.rstrip().splitlines()[-1].startswith("error: ")


def test_an_unexpected_exception_is_one_line_too(tmp_path, capsys, monkeypatch):
    from semantic_bottleneck.commands import stats_command

    def broken(*args, **kwargs):
        raise TypeError("planted bug\nsecond line")

    monkeypatch.setattr(stats_command, "checkpoint_stats", broken)
    status = main(["stats", str(_save(tmp_path, "dit.pt", dit_state(0))), "--family", "dit"])
    one_error_line(capsys, status, 1, "unexpected TypeError: planted bug", "--debug")


def test_every_family_states_the_range_of_t_and_checks_it():
    from semantic_bottleneck.checkpoints.families import check_t
    from semantic_bottleneck.registry import family_facts, family_names

    families = [family_facts(name) for name in family_names()]
    assert all(f.t_range is not None and f.t_range[0] < f.t_range[1] for f in families)
    assert all(check_t(f, f.t0) == f.t0 for f in families)  # the first denoising step lies in the range
    assert check_t(family_facts("sit"), 0.37) == 0.37 and check_t(family_facts("dit"), 500) == 500.0
    with pytest.raises(ValueError, match=r"t must be an integer in \[0, 999\] for family mdt; got 'soon'"):
        check_t(family_facts("mdt"), "soon")


def test_good_files_around_the_edges_still_read(tmp_path, capsys):
    diffusers = _diffusers(tmp_path, ["0", "1", "final"])  # a block name that is not a number is skipped
    assert main(["stats", str(diffusers), "--t", "0"]) == 0 and "family   diffusers-dit" in capsys.readouterr().out
    null_zero = TABLE.clone()
    null_zero[-1] = 0  # the null (CFG) row may be zero: only real classes are checked
    legacy = tmp_path / "legacy.pt"
    torch.save({**dit_state(0), EMBEDDER[0]: null_zero}, legacy, _use_new_zipfile_serialization=False)
    assert main(["stats", str(legacy), "--family", "sit", "--t", "1"]) == 0
    assert "old-format pickle: read whole into memory" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the book driver and parameter files

@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Throw-away notebooks/ (a.ipynb, b.ipynb), params/ and book/ for the driver."""
    book_sandbox(tmp_path, monkeypatch, "a:\n  value: 2\nb:\n  value: 3\n")
    for name in ("a", "b"):
        write_notebook(tmp_path / "notebooks" / f"{name}.ipynb")
    return tmp_path


PARAMETER_FILES = {  # name: (bytes of params/ci.yaml, fragments of the one error line)
    "yaml syntax error": (b"a:\n  value: 2\nb:\n  value: [3,\n  other: 4\n",
                          ["ci.yaml line 6, column 1: not valid YAML", "flow sequence that starts on line 4"]),
    "tab indentation": (b"a:\n\tvalue: 2\n", ["ci.yaml line 2, column 1", "'\\t'"]),
    "file is a list": (b"- a\n- b\n", ["ci.yaml must map notebook names", "it holds a list"]),
    "section is a list": (b"a:\n  - value\n", ["ci.yaml: section a must be `parameter: value` lines; it holds a list"]),
    "key not a name": (b"a:\n  1: 2\n", ["section a has a key that is not a parameter name: 1"]),
    "not UTF-8": (b"a:\n  value: 2\nb:\n  name: \"\xff\xfe\"\n", ["ci.yaml line 4: not UTF-8 text (byte 0xff)"]),
}


@pytest.mark.parametrize("case", PARAMETER_FILES)
def test_a_bad_parameter_file_names_the_file_and_line(case, sandbox, capsys):
    text, fragments = PARAMETER_FILES[case]
    (sandbox / "params" / "ci.yaml").write_bytes(text)
    status = main(["book", "--profile", "ci", "--only", "a", "--no-render"])
    one_error_line(capsys, status, 2, *fragments)
    assert not (sandbox / "book" / "executed" / "a.ipynb").exists()


@pytest.mark.parametrize("content,fragment", [(b'{"cells": [\n  {"x": 1,\n', "a.ipynb line 3: not valid JSON"),
                                              (b"[]", "a.ipynb is not a notebook"),
                                              (b"\x89PNG\r\n", "a.ipynb line 1: not UTF-8 text")],
                         ids=["truncated-json", "json-not-a-notebook", "binary"])
def test_a_broken_notebook_file_is_named(content, fragment, sandbox, capsys):
    (sandbox / "notebooks" / "a.ipynb").write_bytes(content)
    status = main(["book", "--profile", "ci", "--only", "a", "--no-render"])
    one_error_line(capsys, status, 2, fragment)


def test_every_selected_notebook_is_validated_before_any_runs(sandbox, capsys, monkeypatch):
    (sandbox / "params" / "ci.yaml").write_text("a:\n  value: 2\nb:\n  valeu: 3\n")
    ran = []
    monkeypatch.setattr(book, "execute", lambda name, *args: ran.append(name))
    status = main(["book", "--profile", "ci", "--only", "a", "--only", "b", "--no-render"])
    one_error_line(capsys, status, 2, "b.ipynb: unknown parameter(s) valeu")
    assert ran == []


def test_when_the_driver_stops_it_prints_what_ran(sandbox, capsys, monkeypatch):
    def execute(name, profile, force=False):
        if name == "b":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(book.EXECUTED / "b.ipynb"))
        return book.Outcome(name, "executed", 12.5)

    monkeypatch.setattr(book, "execute", execute)
    status = main(["book", "--profile", "ci", "--only", "a", "--only", "b", "--no-render"])
    captured = one_error_line(capsys, status, 1, "b.ipynb: No space left on device")
    assert f"{'a':<20}{'executed':<12}{12.5:8.1f} s" in captured.out


def test_a_read_only_book_folder_ends_in_one_line(sandbox, read_only, capsys):
    read_only(sandbox / "book")
    status = main(["book", "--profile", "ci", "--only", "a", "--no-render"])
    one_error_line(capsys, status, 2, "cannot write", "book/executed", "Read-only file system")


@pytest.mark.parametrize("stamp", ['{"stamp": "ab', '{"profile": "ci"}', "[]", "\xff"],
                         ids=["truncated", "no-key", "list", "not-utf8"])
def test_an_unreadable_stamp_means_run_again(stamp, sandbox):
    params = book.load_params("ci", "a")
    book.STAMPS.mkdir(parents=True)
    (book.EXECUTED / "a.ipynb").write_text("{}")
    book._write_stamp("a", {"stamp": book.stamp(sandbox / "notebooks" / "a.ipynb", params)})
    assert book.is_current("a", params)
    (book.STAMPS / "a.json").write_bytes(stamp.encode("latin-1"))
    assert not book.is_current("a", params)


def test_a_stamp_is_replaced_whole_or_not_at_all(sandbox, monkeypatch):
    book.STAMPS.mkdir(parents=True)
    book._write_stamp("a", {"stamp": "old"})

    def interrupted(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(OSError):
        book._write_stamp("a", {"stamp": "new", "profile": "ci"})
    assert json.loads((book.STAMPS / "a.json").read_text()) == {"stamp": "old"}
    assert files_under(book.STAMPS) == ["a.json"]
