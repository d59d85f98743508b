"""Every output of a run reads the same with datasets, polars, pandas and pyarrow, JSONL and parquet alike.

Before: `extra` was an object in JSONL and a JSON string in parquet, parquet carried an always-empty `loss`
column that JSONL lacked, and JSONL rows left out keys they had no value for, so `polars.read_ndjson` (which
infers the columns from the first 100 rows) dropped `extra`, which first appears at row 950 of the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

OUTPUTS = ("jsonl", "chat-messages", "chat-sharegpt", "chat-alpaca")


def _jsonl_files(run_dir: Path) -> list[Path]:
    files = [f for name in OUTPUTS for f in sorted((run_dir / "output" / name).glob("*.jsonl"))]
    return files + sorted((run_dir / "rejects").rglob("*.jsonl"))


def _plain(arrow_type: pa.DataType) -> str:
    """The value type a column holds, whatever the reader: int, float, str, list or struct."""
    for kind, test in (("int", pa.types.is_integer), ("float", pa.types.is_floating), ("str", pa.types.is_string),
                       ("str", pa.types.is_large_string), ("list", pa.types.is_list),
                       ("list", pa.types.is_large_list), ("struct", pa.types.is_struct)):
        if test(arrow_type):
            return kind
    return str(arrow_type)


def test_every_jsonl_row_carries_every_key_and_every_reader_agrees(demo_run, tmp_path):
    files = _jsonl_files(demo_run)
    assert len(files) >= 8
    for path in files:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if not rows:
            continue
        keys = list(rows[0])
        assert all(list(row) == keys for row in rows), f"{path}: rows with different keys"
        by_polars = pl.read_ndjson(path)  # default settings: types from the first 100 rows
        by_pandas = pd.read_json(path, lines=True, dtype=False)
        by_arrow = pa_json.read_json(path)
        by_datasets = datasets.load_dataset("json", data_files=str(path), split="train",
                                            cache_dir=str(tmp_path / "hf"))
        for reader, columns, n in (("polars", by_polars.columns, len(by_polars)),
                                   ("pandas", list(by_pandas.columns), len(by_pandas)),
                                   ("pyarrow", by_arrow.column_names, by_arrow.num_rows),
                                   ("datasets", by_datasets.column_names, by_datasets.num_rows)):
            assert (columns, n) == (keys, len(rows)), f"{path} read by {reader}"
        types = {name: _plain(by_arrow.schema.field(name).type) for name in keys}
        assert types == {name: _plain(by_datasets.data.schema.field(name).type) for name in keys}, path
        assert types == {name: _plain(by_polars.to_arrow().schema.field(name).type) for name in keys}, path
        if "rejects" not in path.parts:  # no output column without a value (rejects hold empty pairs)
            empty = [k for k in keys if all(row[k] in (None, "") for row in rows) and k not in ("input", "system")]
            assert not empty, (path, empty)


def test_jsonl_and_parquet_have_the_same_columns_types_and_values(demo_run, tmp_path):
    (jsonl,) = (demo_run / "output" / "jsonl").glob("*.jsonl")
    (parquet,) = (demo_run / "output" / "parquet").glob("*.parquet")
    from_json, from_parquet = pa_json.read_json(jsonl), pq.read_table(parquet)
    assert from_json.column_names == from_parquet.column_names
    by_datasets = datasets.load_dataset("parquet", data_files=str(parquet), split="train",
                                        cache_dir=str(tmp_path / "hf"))
    for columns, n in ((pl.read_parquet(parquet).columns, len(pl.read_parquet(parquet))),
                       (list(pd.read_parquet(parquet).columns), len(pd.read_parquet(parquet))),
                       (by_datasets.column_names, by_datasets.num_rows)):
        assert (columns, n) == (from_json.column_names, from_json.num_rows)
    assert {f.name: _plain(f.type) for f in from_json.schema} == {f.name: _plain(f.type) for f in from_parquet.schema}
    assert from_json.to_pylist() == from_parquet.to_pylist()
    table = from_parquet.to_pylist()
    assert all(isinstance(json.loads(row["extra"]), dict) for row in table)
    paracrawl = [json.loads(r["extra"]) for r in table if r["corpus"] == "paracrawl-v3"]
    assert paracrawl and all("url1" in e for e in paracrawl)
    first = next(i for i, r in enumerate(table) if json.loads(r["extra"]))
    assert first >= 100  # the case polars' default inference used to miss
    assert "loss" not in from_parquet.column_names  # the demo has no loss step: no always-empty column


@pytest.mark.parametrize("name", ["length_src", "length_trg", "lid_src_prob", "lid_trg_prob"])
def test_scores_are_numbers(demo_run, name):
    (parquet,) = (demo_run / "output" / "parquet").glob("*.parquet")
    column = pq.read_table(parquet).column(name)
    assert _plain(column.type) in ("int", "float") and column.null_count < len(column)
