"""`xplus curate run` never destroys a user's file and never resumes on changed inputs; a full disk, a
read-only output folder and a missing precondition are one line, before the first expensive step; `work/`
goes when the run succeeds; progress is printed, each stats table once."""

from __future__ import annotations

import contextlib
import errno
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from xplus.pipelines.cli import main
from xplus.pipelines.safety import INPUTS, MARKER


def corpus(bitext: Path, folder: Path, pairs: int) -> Path:
    """The first `pairs` non-empty GlobalVoices en-sw line pairs as a Moses folder (`x.en`, `x.sw`)."""
    source = bitext / "opus-globalvoices" / "en-sw"
    lines = zip((source / "GlobalVoices.en").read_text().splitlines(),
                (source / "GlobalVoices.sw").read_text().splitlines(), strict=True)
    kept = [(en, sw) for en, sw in lines if en.strip() and sw.strip()]
    while len(kept) < pairs:
        kept += kept
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.en").write_text("".join(f"{en}\n" for en, _ in kept[:pairs]))
    (folder / "x.sw").write_text("".join(f"{sw}\n" for _, sw in kept[:pairs]))
    return folder


def recipe_file(tmp_path: Path, source: str, steps: str = "  clean: {}\n", extra: str = "") -> Path:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: safety\nsources:\n  - reader: moses\n    path: {source}\n    src_lang: en\n"
                      f"    tgt_lang: sw\n{extra}steps:\n{steps}output:\n  formats: [jsonl]\n")
    return recipe


def run(capsys, recipe: Path, out: Path, *flags: str) -> tuple[int, str, str]:
    from datatrove.utils.logging import setup_default_logger

    # datatrove's terminal log sink is bound to the `sys.stderr` of the moment it was added: in a test process,
    # maybe an earlier test's closed capture; bind it to this one
    setup_default_logger()
    code = main(["curate", "run", str(recipe), "-o", str(out), *flags])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def data(bitext, tmp_path) -> Path:
    return corpus(bitext, tmp_path / "data", 28)


def test_overwrite_never_removes_a_folder_holding_the_input(data, tmp_path, capsys):
    """`-o DIR --overwrite` where DIR holds the input used to delete the input."""
    before = tree(tmp_path / "data")
    code, _, err = run(capsys, recipe_file(tmp_path, str(data)), tmp_path, "--overwrite")
    assert code == 2 and f"{tmp_path}: no {MARKER} marker" in err and "not removed" in err
    assert tree(tmp_path / "data") == before
    # an earlier run's folder into which the input was moved is not removed either
    assert run(capsys, recipe_file(tmp_path, str(data)), tmp_path / "run")[0] == 0
    inside = tmp_path / "run" / "mine"
    data.rename(inside)
    code, _, err = run(capsys, recipe_file(tmp_path, str(inside)), tmp_path / "run", "--overwrite")
    assert code == 2 and "holds an input of this recipe" in err and tree(inside) == before


def test_overwrite_removes_an_earlier_run(data, tmp_path, capsys):
    recipe = recipe_file(tmp_path, str(data))
    assert run(capsys, recipe, tmp_path / "run")[0] == 0
    assert (tmp_path / "run" / MARKER).is_file() and (tmp_path / "run" / INPUTS).is_file()
    (tmp_path / "run" / "stale.txt").write_text("from before")
    code, out, _ = run(capsys, recipe, tmp_path / "run", "--overwrite")
    assert code == 0 and "accounting OK: input 28" in out and not (tmp_path / "run" / "stale.txt").exists()


def test_a_folder_without_marker_is_neither_overwritten_nor_resumed(data, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    for flag in ("--overwrite", "--resume"):
        code, _, err = run(capsys, recipe_file(tmp_path, str(data)), mine, flag)
        assert code == 2 and "not an xplus run folder" in err
    assert (mine / "notes.txt").read_text() == "keep me"


def test_output_inside_an_input_folder_is_refused(data, tmp_path, capsys):
    """`-o` inside the input folder made the run read its own logs as input."""
    before = tree(data)
    code, _, err = run(capsys, recipe_file(tmp_path, str(data)), data / "run")
    assert code == 2 and f"-o {data / 'run'}: inside the input {data} (sources[0].path)" in err
    code, _, err = run(capsys, recipe_file(tmp_path, str(data)), data, "--overwrite")
    assert code == 2 and "inside the input" in err
    assert tree(data) == before


def test_resume_refuses_inputs_changed_since_the_run_started(data, tmp_path, capsys):
    """Lines appended to an input after the run started were never read, and the accounting said OK."""
    recipe = recipe_file(tmp_path, str(data))
    assert run(capsys, recipe, tmp_path / "run")[0] == 0
    os.utime(data / "x.en")  # a touch changes no content: still the same input
    assert run(capsys, recipe, tmp_path / "run", "--resume")[0] == 0
    for side, line in (("en", "One more line.\n"), ("sw", "Mstari mmoja zaidi.\n")):
        with open(data / f"x.{side}", "a") as f:
            f.write(line)
    code, out, err = run(capsys, recipe, tmp_path / "run", "--resume")
    assert code == 1 and "accounting OK" not in out
    assert f"--resume refused: input {data / 'x.en'} changed since the run started (size" in err
    (data / "x.extra.en").write_text("new\n")
    (data / "x.en").write_bytes((data / "x.en").read_bytes()[: -len("One more line.\n")])
    (data / "x.sw").write_bytes((data / "x.sw").read_bytes()[: -len("Mstari mmoja zaidi.\n")])
    code, _, err = run(capsys, recipe, tmp_path / "run", "--resume")
    assert code == 1 and f"input {data / 'x.extra.en'} changed since the run started (new file)" in err


def _read_only(folder: Path):
    """chmod the folder read-only; as root (whom modes do not stop) also bind-mount it read-only."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return contextlib.nullcontext()
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode == 0
    if not mounted:
        subprocess.run(["umount", str(folder)], capture_output=True)
        pytest.skip("running as root without mount: a chmod cannot make a folder read-only")
    return contextlib.closing(type("Unmount", (), {"close": lambda _: subprocess.run(["umount", str(folder)])})())


def test_a_read_only_output_folder_is_one_line_naming_it(data, tmp_path, capsys):
    parent = tmp_path / "locked"
    parent.mkdir()
    with _read_only(parent):
        code, _, err = run(capsys, recipe_file(tmp_path, str(data)), parent / "run")
    parent.chmod(0o755)
    assert code == 2
    assert err.strip().splitlines() == [f"xplus: error: {parent / 'run'}: not writable "
                                        f"({os.strerror(errno.EROFS if os.geteuid() == 0 else errno.EACCES)}): "
                                        f"choose another -o"]


def test_a_full_disk_is_one_line_naming_the_run_folder(bitext, tmp_path, capsys, monkeypatch):
    """A real ENOSPC from a 256 KiB tmpfs when this runs as root; else the writer raises the same OSError."""
    from xplus.pipelines import preconditions

    data = corpus(bitext, tmp_path / "data", 4000)  # ~0.8 MB of output rows
    monkeypatch.setattr(preconditions, "estimate_run_bytes", lambda *args, **kwargs: 0)  # past the disk check
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                                   capture_output=True).returncode == 0
    if not mounted:
        from xplus.curate.writers import RowJsonlWriter

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(RowJsonlWriter, "write", full)
    try:
        code, _, err = run(capsys, recipe_file(tmp_path, str(data)), disk / "run")
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)
    assert code == 1 and "Traceback" not in err and err.count("xplus: error:") == 1, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("xplus: error: ") and "no space left on device while writing the run in " \
        f"{disk / 'run'}" in line and "free space or choose another -o" in line


def test_preconditions_fail_before_anything_runs(data, tmp_path, capsys):
    """A missing local model path read 'Repo id must use alphanumeric chars', after the run had started."""
    steps = "  clean: {}\n  loss: {model: /nonexistent/models/nllb-600m, thresholds: {eng_Latn->swh_Latn: 4.0}}\n"
    code, _, err = run(capsys, recipe_file(tmp_path, str(data), steps), tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()
    assert len(err.strip().splitlines()) == 1
    assert "steps.loss.model: /nonexistent/models/nllb-600m: no such file or folder" in err
    flores = tmp_path / "flores" / "dev"
    flores.mkdir(parents=True)
    (flores / "eng_Latn.dev").write_text("a\n")
    (tmp_path / "model").mkdir()
    steps = f"  clean: {{}}\n  loss: {{model: {tmp_path / 'model'}, flores_dir: {tmp_path / 'flores'}}}\n"
    code, _, err = run(capsys, recipe_file(tmp_path, str(data), steps), tmp_path / "run")
    assert code == 1 and "steps.loss.flores_dir: no FLORES file for sources[0].tgt_lang 'sw'" in err
    assert not (tmp_path / "run").exists()
    # a LID model on the Hub that is neither cached nor reachable (the tests run with HF_HUB_OFFLINE=1): said
    # now, not by every worker when its LID step starts
    code, _, err = run(capsys, recipe_file(tmp_path, str(data), "  lid: {model: someorg/no-such-lid}\n"),
                       tmp_path / "run")
    assert code == 1 and "xplus: error: steps.lid.model: someorg/no-such-lid: not available" in err
    assert not (tmp_path / "run").exists()


def test_free_disk_is_checked_against_the_estimate(data, tmp_path, capsys, monkeypatch):
    from xplus.pipelines import preconditions

    usage = preconditions.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(preconditions.shutil, "disk_usage", lambda _: usage._replace(free=1000))
    code, _, err = run(capsys, recipe_file(tmp_path, str(data)), tmp_path / "run")
    assert code == 1 and f"{tmp_path}: 0.0 MB free, the run needs about" in err and not (tmp_path / "run").exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_unreachable_source_urls_fail_first(tmp_path, capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/missing/en-sw.tsv"
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(f"sources:\n  - reader: tsv\n    path: {url}\n    src_lang: en\n    tgt_lang: sw\n")
        code, _, err = run(capsys, recipe, tmp_path / "run")
    finally:
        server.shutdown()
    assert code == 1 and err.strip() == f"xplus: error: sources[0]: {url}: not found (no such file, or HTTP 404)"
    assert not (tmp_path / "run").exists()


def test_work_is_removed_after_a_successful_run_unless_kept(bitext, tmp_path, capsys):
    data = corpus(bitext, tmp_path / "data", 200)
    recipe = recipe_file(tmp_path, str(data), "  clean: {}\n  dedup: {}\n")
    code, out, _ = run(capsys, recipe, tmp_path / "run", "--tasks", "2", "--workers", "1")
    assert code == 0 and not (tmp_path / "run" / "work").exists() and f"removed {tmp_path / 'run' / 'work'}" in out
    code, _, _ = run(capsys, recipe, tmp_path / "kept", "--tasks", "2", "--workers", "1", "--keep-work")
    assert code == 0 and (tmp_path / "kept" / "work" / "signatures").is_dir()


def test_progress_lines_off_a_terminal_and_each_stats_table_once(bitext, tmp_path):
    """Not a TTY: periodic progress lines with counts (every check with --progress-every 0: a fixed number of
    pairs apart, so nothing depends on speed), and datatrove's stats table once (it was printed twice)."""
    data = corpus(bitext, tmp_path / "data", 3000)
    recipe = recipe_file(tmp_path, str(data))
    done = subprocess.run([sys.executable, "-m", "xplus.pipelines.cli", "curate", "run", str(recipe), "-o",
                           str(tmp_path / "run"), "--progress-every", "0"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    progress = [line for line in done.stderr.splitlines() if line.startswith("xplus progress | curate | task 1/1")]
    assert [line.split(" | ")[3].split(" of ")[0] for line in progress] == \
        ["1,000 pairs", "2,000 pairs", "3,000 pairs", "3,000 pairs"]
    assert all(" of ~" in line and "pairs/s" in line for line in progress[:2]) and "ETA ~" in progress[0]
    assert progress[-1].endswith("| done")
    out = [line for line in done.stderr.splitlines() if line.startswith("xplus progress | curate out | task 1/1")]
    written = sum(len(p.read_text().splitlines()) for p in (tmp_path / "run" / "output" / "jsonl").rglob("*.jsonl"))
    assert len(out) >= 3 and out[-1].startswith(f"xplus progress | curate out | task 1/1 | {written:,} pairs | ")
    assert " of ~" in out[0] and out[-1].endswith("| done")
    assert done.stderr.count("📉📉📉 Stats") == 1 and "📉📉📉 Stats: All 1 tasks" in done.stderr
    task_log = (tmp_path / "run" / "logs" / "00-curate" / "logs" / "task_00000.log").read_text()
    assert "📉📉📉 Stats: Task 0" in task_log
    assert "| time (s) |" in done.stdout


def test_a_missing_spbleu_model_is_found_before_any_generation(tmp_path, monkeypatch):
    """spBLEU's SentencePiece model used to be found missing only after all generation: the precondition says
    it first, in one line naming where it looked (download refused here, as offline)."""
    from sacrebleu.tokenizers import tokenizer_spm

    from xplus.curate.errors import DataError
    from xplus.pipelines.preconditions import check_spbleu_model

    def offline(url, path):
        raise OSError(f"cannot reach {url}")

    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(tmp_path))
    monkeypatch.setattr(tokenizer_spm, "download_file", offline)
    with pytest.raises(DataError, match=f"not at {tmp_path / 'models' / 'flores200sacrebleuspm'}") as err:
        check_spbleu_model()
    assert "\n" not in str(err.value)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "flores200sacrebleuspm").write_bytes(b"model")
    assert check_spbleu_model() == tmp_path / "models" / "flores200sacrebleuspm"


def test_fingerprints_of_large_inputs_catch_an_edit_in_the_middle(tmp_path):
    """Files over FULL_HASH_BYTES are hashed at their edges only; an in-place edit of the middle keeps the size
    and the edges, and is caught by the changed mtime (a small file's content decides instead)."""
    from xplus.curate.errors import DataError
    from xplus.pipelines.safety import EDGE_BYTES, FULL_HASH_BYTES, check_inputs_unchanged, record_inputs

    data, run_dir = tmp_path / "data", tmp_path / "run"
    data.mkdir(), run_dir.mkdir()
    big = data / "big.tsv"
    big.write_bytes(b"a\tb\n" * ((FULL_HASH_BYTES + 4 * EDGE_BYTES) // 4))
    record_inputs(run_dir, {"sources[0].path": data})
    with open(big, "r+b") as f:
        f.seek(big.stat().st_size // 2)
        f.write(b"c")
    stat = big.stat()
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(DataError, match=f"input {big} changed since the run started \\(modified since"):
        check_inputs_unchanged(run_dir, {"sources[0].path": data})


@pytest.mark.parametrize(("argv", "says"), [
    (["--tasks", "0"], "argument --tasks: expected 1 or more, got 0"),  # it ran the whole recipe as one task
    (["--workers", "0"], "argument --workers: expected 1 or more, got 0"),
    (["--executor", "slurm"], "the slurm executor needs a partition (--partition)"),  # was a ValueError traceback
])
def test_executor_options_are_checked_before_anything_runs(argv, says, tmp_path, capsys):
    try:
        code = main(["curate", "run", "demo", "-o", str(tmp_path / "run"), *argv])
    except SystemExit as usage_error:  # argparse's own checks leave through SystemExit
        code = usage_error.code
    assert code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
