"""Peak memory of reading a large source over HTTP: does it stay bounded as the source grows?

Builds the three published layouts at two sizes (uncompressed text of `--small-mb` and `--mb` MB) from the real
samples in ../shared/data (Tatoeba ben-eng lines for the NLLB gz, OPUS GlobalVoices en-sw for the OPUS Moses
zip, TICO-19 en-sw for the OPUS-100 parquet; lines repeated with a running number until the size is reached),
serves them from 127.0.0.1 (tests/http_server.py), and reads each with its reader in a fresh process, which
reports its peak RSS (`VmHWM`) before and after reading. Bounded: the peak does not grow with the source.

Usage: python bench/source_memory.py [--mb 100] [--small-mb 10] [--out bench/results/source_memory.md]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import shared_data_dir  # noqa: E402
from tests.http_server import serve  # noqa: E402

LAYOUTS = ("nllb-gz", "opus-zip", "opus100-parquet")


def _sample(name: str) -> tuple[list[str], list[str]]:
    bitext = shared_data_dir() / "bitext"
    files = {"nllb-gz": ("tatoeba-laser-v1/ben-eng/tatoeba.ben-eng.ben",
                         "tatoeba-laser-v1/ben-eng/tatoeba.ben-eng.eng"),
             "opus-zip": ("opus-globalvoices/en-sw/GlobalVoices.en", "opus-globalvoices/en-sw/GlobalVoices.sw"),
             "opus100-parquet": ("tico19/eng-swa/tico19-test.eng", "tico19/eng-swa/tico19-test.swa")}[name]
    a, b = ((bitext / f).read_text(encoding="utf-8").rstrip("\n").split("\n") for f in files)
    return a, b


def _pairs(name: str, megabytes: float):
    """Real pairs, repeated with a running number, until `megabytes` of text."""
    a, b = _sample(name)
    size, i, limit = 0, 0, megabytes * 1e6
    while size < limit:
        left, right = f"{a[i % len(a)]} {i}", f"{b[i % len(b)]} {i}"
        size += len(left.encode()) + len(right.encode()) + 2
        i += 1
        yield left, right


def build(name: str, megabytes: float, folder: Path) -> str:
    """One source of `name`'s layout; returns its path relative to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "nllb-gz":
        with gzip.open(folder / "ben_Beng-eng_Latn.gz", "wt", encoding="utf-8", compresslevel=1) as f:
            f.writelines(f"{bn}\t{en}\t1.05\t0.9\t0.95\ttatoeba\t\ttatoeba\t\n" for bn, en in _pairs(name, megabytes))
        return "ben_Beng-eng_Latn.gz"
    if name == "opus-zip":
        with zipfile.ZipFile(folder / "en-sw.txt.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for side, member in enumerate(("GlobalVoices.en-sw.en", "GlobalVoices.en-sw.sw")):
                with z.open(member, "w") as f:
                    for pair in _pairs(name, megabytes):
                        f.write(f"{pair[side]}\n".encode())
            z.writestr("README", "test copy\n")
        return "en-sw.txt.zip"
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "en-sw" / "train-00000-of-00001.parquet"
    path.parent.mkdir()
    schema = pa.schema([("translation", pa.struct([("en", pa.string()), ("sw", pa.string())]))])
    with pq.ParquetWriter(path, schema) as w:
        batch = []
        for en, sw in _pairs(name, megabytes):
            batch.append({"translation": {"en": en, "sw": sw}})
            if len(batch) == 50_000:
                w.write_table(pa.Table.from_pylist(batch, schema=w.schema))
                batch = []
        if batch:
            w.write_table(pa.Table.from_pylist(batch, schema=w.schema))
    return "en-sw/train-00000-of-00001.parquet"


def peak_rss_kb() -> int:
    """This process's peak RSS (`VmHWM`): unlike `ru_maxrss`, it starts afresh at exec (not at the parent's)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def child(name: str, url: str) -> None:
    """Read one source in this (fresh) process; print records, seconds and peak RSS before/after reading."""
    from xplus.curate.readers.hf import HFBitextReader
    from xplus.curate.readers.moses import MosesReader
    from xplus.curate.readers.tsv import TsvReader

    reader = {"nllb-gz": lambda: TsvReader(url, "en", "bn", layout="nllb"),
              "opus-zip": lambda: MosesReader(url, "en", "sw"),
              "opus100-parquet": lambda: HFBitextReader(url, "en", "sw")}[name]()
    base = peak_rss_kb()
    started, records = time.perf_counter(), 0
    for _ in reader.run():
        records += 1
    print(json.dumps({"records": records, "seconds": time.perf_counter() - started, "base_kb": base,
                      "peak_kb": peak_rss_kb()}))


def measure(name: str, megabytes: float, work: Path) -> dict:
    folder = work / f"{name}-{megabytes:g}"
    relative = build(name, megabytes, folder)
    with serve(folder) as (url, _):
        out = subprocess.run([sys.executable, __file__, "--child", name, f"{url}/{relative}"], check=True,
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {**result, "layout": name, "text_mb": megabytes, "file_mb": (folder / relative).stat().st_size / 1e6}


def table(rows: list[dict]) -> str:
    lines = ["| layout | text (MB) | file served (MB) | records | read (s) | RSS after imports (MB) | "
             "peak RSS (MB) | peak - imports (MB) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        base, peak = r["base_kb"] / 1024, r["peak_kb"] / 1024
        lines.append(f"| {r['layout']} | {r['text_mb']:g} | {r['file_mb']:.1f} | {r['records']:,} | "
                     f"{r['seconds']:.1f} | {base:.0f} | {peak:.0f} | {peak - base:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100)
    parser.add_argument("--small-mb", type=float, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "source_memory.md")
    parser.add_argument("--child", nargs=2, metavar=("LAYOUT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(name, mb, Path(tmp)) for name in LAYOUTS for mb in (args.small_mb, args.mb)]
    text = (f"# Reading a large source over HTTP in bounded memory\n\n`python bench/source_memory.py --mb {args.mb:g} "
            f"--small-mb {args.small_mb:g}` on {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Each source is served from 127.0.0.1 "
            f"and read by its reader in a fresh process; RSS is that process's peak (`VmHWM`): after the "
            f"imports and the reader's construction, then after reading every record.\n\n{table(rows)}\n")
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
