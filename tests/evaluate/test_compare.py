"""`xplus evaluate compare`: paired bootstrap significance on fixture runs with a known winner."""

from __future__ import annotations

import json
import random

import pytest

import xplus.evaluate.runs as runs
from tests.evaluate.conftest import place_spm
from xplus.curate.flores import Direction
from xplus.evaluate.compare import bootstrap_mean_p_value, compare_runs, markdown
from xplus.pipelines.cli import main

N = 120


def _damage(line: str, rng: random.Random, operations: int) -> str:
    words = line.split()
    for _ in range(operations):
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = rng.choice(("the", "of", "a")), words[i]
    return " ".join(words)


def _make_run(folder, flores_dir, operations: int, xcomet_mean: float, monkeypatch) -> None:
    """A run of eng->deu and deu->eng whose hypotheses are references damaged by `operations` edits per line."""
    rng = random.Random(operations)
    lines = {code: (flores_dir / "devtest" / f"{code}.txt").read_text(encoding="utf-8").splitlines()[:N]
             for code in ("eng_Latn", "deu_Latn")}
    translations = {}
    for direction in (Direction("eng_Latn", "deu_Latn"), Direction("deu_Latn", "eng_Latn")):
        translations[direction] = [
            {"i": i, "src": src, "ref": ref, "raw": "", "hyp": _damage(ref, rng, operations)}
            for i, (src, ref) in enumerate(zip(lines[direction.src], lines[direction.tgt], strict=True))
        ]
    runs.write_settings(folder, {"model": folder.name})
    (folder / runs.TRANSLATIONS).mkdir()
    for direction, rows in translations.items():
        with open(folder / runs.TRANSLATIONS / f"{direction.name}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    segment_scores = [xcomet_mean + rng.gauss(0, 0.1) for _ in range(2 * N)]
    monkeypatch.setattr(runs, "xcomet_scores", lambda rows, model, env, batch_size: segment_scores[:len(rows)])
    runs.score_run(folder, translations, ["spbleu", "chrf++"], xcomet="XL")


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory, flores_dir, trained_spm):
    """baseline (3 edits a line, xCOMET ~0.70), better (1 edit, ~0.80), same (the baseline's copy)."""
    tmp_path = tmp_path_factory.mktemp("runs")
    folders = [tmp_path / name for name in ("baseline", "better", "same")]
    with pytest.MonkeyPatch.context() as monkeypatch:
        place_spm(monkeypatch, trained_spm, tmp_path / "sacrebleu")
        _make_run(folders[0], flores_dir, 3, 0.70, monkeypatch)
        _make_run(folders[1], flores_dir, 1, 0.80, monkeypatch)
        _make_run(folders[2], flores_dir, 3, 0.70, monkeypatch)
        yield folders


def test_the_known_winner_is_significant_and_a_copy_is_not(fixture_runs):
    comparison = compare_runs(fixture_runs, n_samples=200)
    assert comparison["runs"] == ["baseline", "better", "same"]
    assert comparison["metrics"] == ["spbleu", "chrf++", "xcomet"]
    for entry in comparison["directions"].values():
        for metric in comparison["metrics"]:
            baseline, better, same = entry[metric]
            assert baseline.delta is None and baseline.p_value is None
            assert better.delta > 0 and better.significant, (metric, better)
            assert same.delta == 0 and same.p_value == 1.0 and not same.significant
    xcomet = comparison["directions"]["eng_Latn-deu_Latn"]["xcomet"][1]
    assert 7 < xcomet.delta < 13  # about 0.10 x 100
    text = markdown(comparison)
    assert "| en->x | spbleu |" in text and "(+1 / -0)" in text
    assert "p=0.005)*" in text  # the smallest p of 200 resamples: 1 / 201


def test_bootstrap_p_value_follows_sacrebleus_rule():
    rng = random.Random(0)
    base = [rng.random() for _ in range(100)]
    assert bootstrap_mean_p_value(base, [s + 0.2 for s in base], n_samples=99) == 0.01  # (0 + 1) / (99 + 1)
    noisy = [s + rng.gauss(0, 0.05) for s in base]  # no real difference, only noise
    assert bootstrap_mean_p_value(base, noisy, n_samples=99) > 0.2


def test_cli_writes_markdown_and_json(fixture_runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["evaluate", "compare", *map(str, fixture_runs[:2]), "--samples", "100", "-o", str(out)]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("# Comparison against baseline")
    payload = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    cell = payload["directions"]["deu_Latn-eng_Latn"]["spbleu"][1]
    assert cell["significant"] and cell["delta"] > 0
    assert payload["summary"]["x->en"]["xcomet"][1]["better"] == 1
    assert (out / "compare.md").read_text(encoding="utf-8").startswith("# Comparison")


def test_cli_errors(fixture_runs, tmp_path, capsys):
    assert main(["evaluate", "compare", str(fixture_runs[0])]) == 1
    assert "at least two runs" in capsys.readouterr().err
    assert main(["evaluate", "compare", str(fixture_runs[0]), str(tmp_path / "nothing")]) == 1
    assert "has no scores.json" in capsys.readouterr().err
