"""Layer-set specs (`xplus.train.layers`) and the `xplus train layers` command."""

from __future__ import annotations

import pytest
import transformers

from xplus.pipelines.cli import main
from xplus.train.layers import PAPER_STAGES, format_ranges, model_num_layers, resolve_layers


def test_paper_stages_on_qwen3_8b_and_14b():
    assert PAPER_STAGES == ("bottom:4", "top:15")
    assert resolve_layers("bottom:4", 36) == [0, 1, 2, 3]
    assert resolve_layers("top:15", 36) == list(range(21, 36))
    assert resolve_layers("bottom:4", 40) == [0, 1, 2, 3]
    assert resolve_layers("top:15", 40) == list(range(25, 40))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", list(range(6))),
        ("2-4", [2, 3, 4]),
        ("3", [3]),
        ("3-3", [3]),
        ("5,0", [0, 5]),
        ("bottom:2, top:2", [0, 1, 4, 5]),
        ("bottom:3,1-4", [0, 1, 2, 3, 4]),  # overlaps are merged
        ("bottom:6", list(range(6))),
        ("top:6", list(range(6))),
    ],
)
def test_inclusions(spec, expected):
    assert resolve_layers(spec, 6) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("top:15,skip:20", list(range(21, 36))),  # skipping an unselected layer is harmless
        ("top:15,skip:30", [*range(21, 30), *range(31, 36)]),
        ("all,skip:18-20", [*range(18), *range(21, 36)]),
        ("skip:0,bottom:4", [1, 2, 3]),  # skips apply after all inclusions, wherever they are written
        ("all,skip:bottom:4,skip:top:15", list(range(4, 21))),
    ],
)
def test_skips(spec, expected):
    assert resolve_layers(spec, 36) == expected


@pytest.mark.parametrize(
    ("spec", "num_layers", "message"),
    [
        ("36", 36, r"layer term '36': layer 36 is out of range 0-35"),
        ("30-36", 36, r"layer term '30-36': layer 36 is out of range 0-35"),
        ("skip:40", 36, r"layer term 'skip:40': layer 40 is out of range"),
        ("5-2", 36, r"layer term '5-2': range start 5 is after its end 2"),
        ("top:37", 36, r"layer term 'top:37': K=37 must be between 1 and the model's 36 layers"),
        ("bottom:0", 36, r"layer term 'bottom:0': K=0 must be between 1"),
        ("middle:3", 36, r"layer term 'middle:3': malformed"),
        ("top:four", 36, r"layer term 'top:four': malformed"),
        ("-1", 36, r"layer term '-1': malformed"),
        ("bottom:4,,top:15", 36, r"layer term '': malformed"),
        ("", 36, r"layer term '': malformed"),
        ("top:4,skip:top:4", 36, r"layer spec 'top:4,skip:top:4' selects no layers of 36$"),
        ("skip:3", 36, r"selects no layers of 36 \(it has no inclusion term"),
        ("all", 0, r"num_layers must be at least 1, got 0"),
    ],
)
def test_errors_name_the_offending_term(spec, num_layers, message):
    with pytest.raises(ValueError, match=message):
        resolve_layers(spec, num_layers)


def test_format_ranges_is_compact_and_round_trips():
    layers = [0, 1, 2, 3, 7, 21, 22, 35]
    assert format_ranges(layers) == "0-3,7,21-22,35"
    assert resolve_layers(format_ranges(layers), 36) == layers


def test_cli_defaults_to_paper_stages(capsys):
    assert main(["train", "layers", "--num-layers", "36"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "num_layers: 36",
        "stage  spec      layers  count",
        "1      bottom:4  0-3     4",
        "2      top:15    21-35   15",
    ]


def test_cli_custom_specs(capsys):
    assert main(["train", "layers", "--num-layers", "40", "top:15,skip:30-31", "all"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "num_layers: 40",
        "stage  spec               layers       count",
        "1      top:15,skip:30-31  25-29,32-39  13",
        "2      all                0-39         40",
    ]


def test_cli_bad_spec_is_an_error_not_a_traceback(capsys):
    assert main(["train", "layers", "--num-layers", "36", "top:40"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "xplus train layers: error: layer term 'top:40'" in captured.err


def test_cli_needs_a_depth(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "layers"])
    assert exit_info.value.code == 2
    assert "one of the arguments --num-layers --model is required" in capsys.readouterr().err


def test_cli_reads_depth_from_a_local_model_config(tmp_path, capsys):
    config = transformers.Qwen3Config(
        num_hidden_layers=6,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=1,
    )
    config.save_pretrained(tmp_path)
    assert model_num_layers(str(tmp_path)) == 6
    assert main(["train", "layers", "--model", str(tmp_path), "bottom:2", "top:3,skip:4"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"num_layers: 6 ({tmp_path})",
        "stage  spec          layers  count",
        "1      bottom:2      0-1     2",
        "2      top:3,skip:4  3,5     2",
    ]


def test_cli_missing_model_is_an_error(tmp_path, capsys):
    assert main(["train", "layers", "--model", str(tmp_path)]) == 2  # no config.json there
    assert "xplus train layers: error:" in capsys.readouterr().err
