"""`xplus curate check RECIPE`: resolve every source of a recipe, its size and reachability, without reading it.

One line per source: `ok` or `UNREACHABLE`, the source's key and corpus, where it resolves to (the URL, Hub
path or local path), its size and how it is pinned (`sha256`, a Hub `@revision`, or `NOT PINNED`). Remote
sources cost one HEAD / `fs.info` each (a folder, one listing). Exit 1 if any source is unreachable.

`--pin` also prints the pins to paste into the recipe: the sha256 of every unpinned URL (this streams the file
once) and the current commit of every `hf://` path that names a branch rather than a commit.
"""

from __future__ import annotations

import argparse
import os
import re

REVISION = re.compile(r"@[0-9a-f]{40}(/|$)")
HF_PATH = re.compile(r"hf://datasets/([^/@]+/[^/@]+)(?:@([^/]+))?(/.*)?$")
CHUNK = 1 << 20


def add_check_parser(curate_commands: argparse._SubParsersAction) -> None:
    check = curate_commands.add_parser(
        "check", help="check that every source of a recipe is reachable (size, pin), reading none of them",
        description="Resolve every source of a recipe (local path, https:// URL, hf:// path, Hub dataset): its "
                    "size and reachability (HEAD / fs.info), one line per source. Exit 1 if any is unreachable.")
    check.add_argument("recipe", help="bundled recipe name or path to a recipe YAML")
    check.add_argument("--pin", action="store_true", help="print the sha256 of each unpinned URL (reads it once) "
                                                          "and the commit of each hf:// path on a branch")
    check.set_defaults(func=check_recipe)


def human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def pin_of(path: str, options: dict) -> str:
    if options.get("sha256"):
        return f"sha256 {str(options['sha256'])[:12]}…"
    if REVISION.search(path):
        return f"revision {REVISION.search(path).group(0)[1:13]}…"
    if options.get("hub_revision"):
        return f"revision {options['hub_revision']}"
    return "NOT PINNED" if "://" in path or options.get("hub_dataset") else "local"


def source_location(path: str, options: dict) -> str:
    """Where a recipe source lives: its path, or for a Hub dataset id its `hf://datasets/` repository."""
    if path or not options.get("hub_dataset"):
        return path
    revision = f"@{options['hub_revision']}" if options.get("hub_revision") else ""
    return f"hf://datasets/{options['hub_dataset']}{revision}"


def check_recipe(args: argparse.Namespace) -> int:
    from xplus.curate.sources import describe_error, source_info
    from xplus.pipelines.recipe import load_recipe, resolve_path

    recipe = load_recipe(args.recipe)
    print(f"xplus: checking the {len(recipe.sources)} source(s) of {recipe.name!r} ({recipe.origin})")
    failed = 0
    for i, source in enumerate(recipe.sources):
        path = source_location(resolve_path(source.path), source.options)
        info = source_info(path)
        corpus = source.options.get("corpus") or ""
        if info.error:
            failed += 1
            print(f"UNREACHABLE  sources[{i}] {corpus}  {info.where}: {info.error}")
            continue
        files = f", {info.files} files" if info.files > 1 else ""
        print(f"ok  sources[{i}] {corpus}  {info.where}  {human_size(info.size)}{files}  "
              f"{pin_of(path, source.options)}")
        if args.pin:
            try:
                pin = pin_line(path, source.options)
            except Exception as err:  # noqa: BLE001 (reported on the source's line, like reachability)
                pin = f"(cannot pin: {describe_error(err, path)})"
            if pin:
                print(f"    pin: sources[{i}].{pin}")
    if failed:
        print(f"{failed} of {len(recipe.sources)} source(s) unreachable")
        return 1
    print(f"all {len(recipe.sources)} source(s) reachable")
    return 0


def pin_line(path: str, options: dict) -> str | None:
    """`sha256: <hex>` for an unpinned URL (streamed once), `path: hf://...@<commit>/...` for a Hub branch."""
    if path.startswith(("http://", "https://")) and not options.get("sha256"):
        import hashlib

        import fsspec

        from xplus.curate.sources import http_storage_options

        digest = hashlib.sha256()
        with fsspec.open(path, "rb", **http_storage_options()) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return f"sha256: {digest.hexdigest()}"
    if (match := HF_PATH.match(path)) and not REVISION.search(path):
        from huggingface_hub import HfApi

        repo, revision, rest = match.groups()
        commit = HfApi(endpoint=os.environ.get("HF_ENDPOINT")).dataset_info(repo, revision=revision or "main").sha
        return f"path: hf://datasets/{repo}@{commit}{rest or ''}"
    return None
