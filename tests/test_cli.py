"""``python -m ganlib`` as a user meets it: every mistake is one line on stderr and a non-zero
exit status, found before any training, and no finished file changes; Ctrl-C says where the
last checkpoint is. One case of each kind runs the command in a fresh process, the others
call the same ``main()`` in this one (a process costs seconds of imports); all reuse one
finished run (3 steps of batch 16 on ring8)."""

import io
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganlib import metrics, sweep, train
from ganlib.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--loss", "nonsaturating", "--steps", "3", "--batch", "16"]
ENV = {"GANLIB_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def ganlib(*argv, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganlib", *map(str, argv)], cwd=ROOT,
                          env={**os.environ, **ENV, **(env or {})}, capture_output=True,
                          text=True, timeout=600)


def one_line(status: int, err: str, expected: int = 2) -> str:
    """The error message, checking the exit status and that stderr is that one line."""
    assert status == expected, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def error(argv: list, capsys=None, env: dict | None = None) -> str:
    """The one-line error of ``python -m ganlib *argv``: in a fresh process, or with
    ``capsys`` from ``main()`` in this one."""
    if capsys is None:
        r = ganlib(*argv, env=env)
        return one_line(r.returncode, r.stderr)
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as e:
        status = e.code
    return one_line(status, capsys.readouterr().err)


def snapshot(directory: Path) -> dict:
    return {p.name: (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(directory.iterdir())}


@pytest.fixture
def no_ot(monkeypatch):
    monkeypatch.setattr(metrics, "wasserstein2", lambda x, y: 0.0)  # exact OT takes seconds


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    r = ganlib("train", *TINY, "--checkpoint-every", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert {"checkpoint.pt", "history.json", "samples_000003.png"} <= set(os.listdir(out))
    return out


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    """A copy of the finished run that a test may damage."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


@pytest.mark.parametrize("fresh, argv, message", [
    (True, [], "already holds a run (checkpoint.pt, ...): add --resume to continue it, "
               "--overwrite"),
    (False, ["--resume", "--data", "grid25"], "trained with data ring8, not grid25; resume "
                                              "with the same data"),
    (False, ["--resume", "--batch", "32"], "trained with batch size 16, not 32"),
    (False, ["--resume", "--steps", "2"], "at step 3, beyond the 2 steps asked for; ask for 3"),
    (False, ["--resume", "--overwrite"], "give one of them"),
])
def test_a_finished_run_is_never_changed_by_a_mistake(finished, capsys, fresh, argv, message):
    before = snapshot(finished)
    assert message in error(["train", *TINY, "--out", finished, *argv],
                            None if fresh else capsys)
    assert snapshot(finished) == before


def test_overwrite_replaces_the_whole_run_and_mixes_no_old_samples(copy, no_ot, capsys):
    (copy / "samples_000099.png").write_bytes(b"from an older run")
    assert main(["train", *TINY[:2], "--steps", "2", "--batch", "16", "--out", str(copy),
                 "--overwrite"]) == 0
    assert sorted(p.name for p in copy.glob("samples_*")) == ["samples_000001.png",
                                                             "samples_000002.png"]
    assert train.read_checkpoint(copy / "checkpoint.pt")["step"] == 2
    capsys.readouterr()


@pytest.mark.parametrize("fresh, argv, message", [
    (True, ["--device", "cuda"], "device 'cuda' is not available on this machine"),
    (False, ["--device", "meta"], "device 'meta' holds no data"),
    (False, ["--device", "gpu"], "unknown device 'gpu'"),
    (False, ["--seed", "-1"], "--seed must be in 0..4294967295"),
    (False, ["--seed", str(2**32)], "--seed must be in 0..4294967295"),
    (False, ["--batch", "0"], "--batch must be a positive integer"),
    (False, ["--batch", "x"], "invalid int value: 'x'"),
])
def test_usage_mistakes_are_one_line_and_create_nothing(tmp_path, capsys, fresh, argv, message):
    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "new"
    assert message in error(["train", *TINY, "--out", out, *argv], None if fresh else capsys)
    assert not out.exists()


def test_an_out_that_cannot_be_written_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    assert f"--out {tmp_path / 'file'} is a file; give a directory" in error(
        ["train", *TINY, "--out", tmp_path / "file"])
    out = tmp_path / "file" / "run"
    assert f"--out {out} is not a writable directory (Not a directory)" in error(
        ["train", *TINY, "--out", out], capsys)
    if sys.platform == "linux":  # a parent that cannot be created
        out = Path("/proc/no-such-process/run")
        assert f"--out {out} is not a writable directory (" in error(
            ["train", *TINY, "--out", out], capsys)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_an_unwritable_out_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    message = error(["train", *TINY, "--out", locked / "run"], capsys)
    assert "is not a writable directory (Permission denied)" in message


def _damage(checkpoint: Path, how: str) -> None:
    raw = checkpoint.read_bytes()
    checkpoint.unlink()
    if how == "directory":
        checkpoint.mkdir()
    elif how == "pickle":  # Python objects: never loaded
        checkpoint.write_bytes(pickle.dumps(ValueError("not weights")))
    elif how == "non-finite":
        state = torch.load(io.BytesIO(raw), weights_only=True)
        next(iter(state["G"].values())).fill_(float("nan"))
        torch.save(state, checkpoint)
    else:
        checkpoint.write_bytes({"empty": b"", "truncated": raw[:len(raw) // 2],
                                "random": os.urandom(4096)}[how])


@pytest.mark.parametrize("fresh, how, message", [
    (True, "random", "is not a readable ganlib checkpoint ("),
    (False, "empty", "is not a readable ganlib checkpoint (an empty file); delete it"),
    (False, "truncated", "is not a readable ganlib checkpoint (truncated or corrupt)"),
    (False, "pickle", "is not a readable ganlib checkpoint (it holds Python objects"),
    (False, "directory", "is a directory, not a checkpoint file"),
    (False, "non-finite", "holds non-finite weights (the run diverged before it was saved)"),
])
def test_a_bad_checkpoint_is_one_line_and_never_advises_unsafe_loading(copy, capsys, fresh,
                                                                       how, message):
    _damage(copy / "checkpoint.pt", how)
    before = snapshot(copy)
    text = error(["train", *TINY, "--out", copy, "--resume"], None if fresh else capsys)
    assert message in text and "weights_only" not in text
    assert snapshot(copy) == before


@pytest.mark.parametrize("fresh, grid, message", [
    (True, '["hinge"]', "holds a JSON list, not an object"),
    (False, "{loss: hinge", "is not valid JSON"),
    (False, "DIR", "is a directory; give the grid's JSON file"),
    (False, '{"loss": "hinge", "data": "ring8", "seed": 0, "steps": [2, 0]}',
     "steps must be an integer >= 1, got 0"),
    (False, '{"loss": "hinge", "data": "ring8", "seed": 0, "lr": "fast"}',
     "lr must be a number >= 0 (or null for each loss's default), got 'fast'"),
    (False, '{"loss": "hinge", "data": "ring8", "seed": 0, "batch": 0}',
     "batch must be an integer >= 1"),
])
def test_a_bad_grid_is_refused_before_the_first_cell(tmp_path, capsys, fresh, grid, message):
    path = tmp_path / "grid.json"
    path.mkdir() if grid == "DIR" else path.write_text(grid)
    out = tmp_path / "out"
    assert message in error(["sweep", "--grid", path, "--out", out], None if fresh else capsys)
    assert not out.exists()


def test_a_corrupt_dataset_or_missing_device_is_found_before_the_first_cell(tmp_path, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text('{"loss": "hinge", "data": ["ring8", "fashion-mnist"], "seed": 0}')
    bad = tmp_path / "fashion"
    bad.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (bad / name).write_bytes(b"not an IDX file")
    out = tmp_path / "out"
    message = error(["sweep", "--grid", grid, "--out", out], env={"GANLIB_DATA": str(bad)})
    assert "train-images-idx3-ubyte.gz" in message
    message = error(["sweep", "--grid", grid, "--out", out, "--device", "meta"], capsys)
    assert "device 'meta' holds no data" in message
    assert not out.exists()


def test_merge_into_a_missing_folder_is_one_line(tmp_path, capsys):
    to = tmp_path / "missing" / "all.csv"
    message = error(["sweep", "--merge", tmp_path, "--to", to], capsys)
    assert f"the folder {to.parent} does not exist; create it first" in message


def interrupt(argv: list, ready) -> str:
    """Start ``python -m ganlib *argv``, press Ctrl-C once ``ready()``; its one-line message."""
    # Ctrl-C's default action in the child even where this test was started with SIGINT
    # ignored (a background job of a shell without job control): Python then installs no
    # KeyboardInterrupt handler, and the child would train on
    p = subprocess.Popen([sys.executable, "-m", "ganlib", *map(str, argv)], cwd=ROOT,
                         env={**os.environ, **ENV}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 300
        while not ready() and p.poll() is None:
            assert time.monotonic() < deadline, "not ready within 300 s"
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:  # a failed test leaves no training behind
            p.kill()
            p.communicate()
    return one_line(p.returncode, err, 130)


def test_ctrl_c_says_where_the_last_checkpoint_is(tmp_path):
    out = tmp_path / "run"
    message = interrupt(["train", *TINY[:2], "--steps", "1000000", "--batch", "16",
                         "--checkpoint-every", "1", "--out", out],
                        ready=(out / "checkpoint.pt").exists)
    assert f"interrupted; the last checkpoint is {out / 'checkpoint.pt'} (step " in message
    assert message.endswith("continue with --resume")
    assert train.read_checkpoint(out / "checkpoint.pt")["step"] >= 1


def test_ctrl_c_in_a_sweep_keeps_the_finished_cells(tmp_path):
    grid, out = tmp_path / "grid.json", tmp_path / "out"
    grid.write_text('{"loss": "nonsaturating", "data": "ring8", "seed": 0, "batch": 16, '
                    '"steps": [2, 1000000], "n_eval": 64}')
    message = interrupt(["sweep", "--grid", grid, "--out", out, "--device", "cpu"],
                        ready=lambda: bool(sweep.read_rows(out)))
    assert message.endswith(f"interrupted; the finished cells are in {out}; run the same "
                            "command again to go on")
    assert [r["steps"] for r in sweep.read_rows(out)] == ["2"]


def test_infogan_with_one_seed_trains_the_same_weights_twice(tmp_path, no_ot, capsys):
    states = []
    for run in ("a", "b"):
        torch.manual_seed(100 + len(states))  # whatever ran before must not matter
        assert main(["train", "--loss", "infogan", "--steps", "2", "--batch", "16", "--seed",
                     "3", "--out", str(tmp_path / run)]) == 0
        states.append(train.read_checkpoint(tmp_path / run / "checkpoint.pt"))
    for net in ("G", "D"):
        for k, v in states[0][net].items():
            assert torch.equal(v, states[1][net][k]), (net, k)
    for k, v in states[0]["extra"]["q"].items():
        assert torch.equal(v, states[1]["extra"]["q"][k]), k
    capsys.readouterr()
