"""Which lm-evaluation-harness tasks a retention run evaluates, and where their data comes from.

- The paper's set (`--tasks paper`): the lm-eval tasks of its Table 2 (XNLI, MGSM, XStoryCloze, XCOPA,
  XWinograd) for each of the 17 recipe languages the task has (37 tasks with lm-eval 0.4.13). MGSM is
  `mgsm_direct_*` (the question, the answer as a number).
- Any other lm-eval task name, or the path of a task YAML (lm-eval's own format), may be added.
- Local data (offline, tests): `--data-dir DIR` reads each task's splits from `DIR/<task>/<split>.jsonl`
  (rows in the task's own fields: premise/hypothesis/label for XNLI, question/answer_number for MGSM, ...).
  For each such task a YAML is written into the run (`tasks/<task>.yaml`) that includes lm-eval's own task file
  and changes only where the data comes from (`dataset_path: json`, `dataset_kwargs.data_files`), so prompts,
  few-shot counts and metrics stay lm-eval's. A user can write the same YAML by hand and pass its path.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import yaml

from xplus.curate.languages import RECIPE_LANGUAGES, get_language

#: lm-eval task name patterns of the paper's tasks, and the languages lm-eval 0.4.13 has for each
PAPER_FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "xnli": ("xnli_{}", ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")),
    "mgsm": ("mgsm_direct_{}", ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")),
    "xstorycloze": ("xstorycloze_{}", ("ar", "en", "es", "eu", "hi", "id", "my", "ru", "sw", "te", "zh")),
    "xcopa": ("xcopa_{}", ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")),
    "xwinograd": ("xwinograd_{}", ("en", "fr", "jp", "pt", "ru", "zh")),
}
#: lm-eval's language suffixes that are not ISO 639-1
_SUFFIX_ALIASES = {"jp": "ja"}


class TaskDataError(FileNotFoundError):
    """A task's data is not where the run looks for it (offline, or a local data folder without it)."""


@dataclass(frozen=True)
class TaskRef:
    """One task of a run: its lm-eval name, family and language (FLORES-200 code, None when not known), and the
    YAML file that defines it when it is not lm-eval's own."""

    name: str
    family: str
    language: str | None
    yaml_path: Path | None = None


def paper_tasks() -> list[str]:
    """The paper's lm-eval tasks for the recipe languages, family by family, in recipe language order."""
    iso = [get_language(code).iso639_1 for code in RECIPE_LANGUAGES]
    names = []
    for pattern, suffixes in PAPER_FAMILIES.values():
        by_iso = {_SUFFIX_ALIASES.get(s, s): s for s in suffixes}
        names += [pattern.format(by_iso[code]) for code in iso if code in by_iso]
    return names


def task_ref(spec: str) -> TaskRef:
    """A task name or task YAML path, with its family and language when its name says them."""
    path = Path(spec)
    if spec.endswith((".yaml", ".yml")):
        if not path.is_file():
            raise TaskDataError(f"task file {spec} does not exist")
        name = (yaml.load(path.read_text(encoding="utf-8"), Loader=_IgnoreTags) or {}).get("task")
        if not isinstance(name, str):
            raise ValueError(f"{spec}: a task YAML needs a `task:` name")
        return TaskRef(name, *_family_language(name), yaml_path=path.resolve())
    return TaskRef(spec, *_family_language(spec))


def resolve_tasks(specs: list[str]) -> list[TaskRef]:
    """`paper` and comma-separated lists expanded into tasks, in order, without repeats."""
    names: list[str] = []
    for spec in specs:
        for item in filter(None, (part.strip() for part in spec.split(","))):
            names += paper_tasks() if item == "paper" else [item]
    refs = [task_ref(name) for name in dict.fromkeys(names)]
    if not refs:
        raise ValueError("no task given: use --tasks paper or lm-eval task names / task YAML files")
    return refs


def _family_language(name: str) -> tuple[str, str | None]:
    for family, (pattern, _) in PAPER_FAMILIES.items():
        prefix = pattern.format("")
        if name.startswith(prefix):
            suffix = name[len(prefix):]
            try:
                return family, get_language(_SUFFIX_ALIASES.get(suffix, suffix)).flores200
            except ValueError:
                return family, None
    return name, None


class _IgnoreTags(yaml.SafeLoader):
    """Reads lm-eval YAMLs without resolving their `!function` tags (only `task:` is needed)."""


_IgnoreTags.add_multi_constructor("!", lambda loader, suffix, node: None)


def lm_eval_tasks_dir() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    if spec is None or spec.origin is None:
        raise ImportError("lm-evaluation-harness is not installed: pip install 'lm-eval[hf]'")
    return Path(spec.origin).parent / "tasks"


def task_manager(refs: list[TaskRef], include: list[Path]):
    """lm-eval's TaskManager over what the tasks need: only the paper families' folders when every task is one
    of theirs (indexing all of lm-eval's ~10k task files takes seconds), plus the run's and the user's YAMLs."""
    from lm_eval.tasks import TaskManager

    known = all(ref.family in PAPER_FAMILIES for ref in refs)
    folders = [lm_eval_tasks_dir() / family for family in PAPER_FAMILIES] if known else []
    extra = [str(p) for p in [*folders, *include] if Path(p).exists()]
    return TaskManager(include_path=extra or None, include_defaults=not known)


def task_splits(manager, name: str) -> tuple[Path, dict]:
    """The YAML file lm-eval defines `name` in, and its resolved config."""
    from lm_eval.tasks._yaml_loader import load_yaml

    entry = manager.task_index.get(name)
    if entry is None or entry.yaml_path is None:
        raise KeyError(f"lm-eval has no task {name!r} (see `lm-eval ls tasks`)")
    return Path(entry.yaml_path), load_yaml(entry.yaml_path, resolve_func=True)


def local_task_yaml(manager, name: str, data_dir: Path, out_dir: Path) -> Path:
    """Write `out_dir/<name>.yaml`: lm-eval's task `name` reading its splits from `data_dir/<name>/<split>.jsonl`.
    Every split the task uses must be there; the error names the task and the missing files."""
    origin, config = task_splits(manager, name)
    splits = dict.fromkeys(config[key] for key in ("training_split", "validation_split", "test_split",
                                                   "fewshot_split") if config.get(key))
    files = {split: Path(data_dir) / name / f"{split}.jsonl" for split in splits}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise TaskDataError(f"task {name}: no local data at {', '.join(missing)} (the splits it uses: "
                            f"{', '.join(splits)}; one JSON row per line in the task's fields)")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "include": str(origin), "task": name, "dataset_path": "json", "dataset_name": None,
        "dataset_kwargs": {"data_files": {split: str(p.resolve()) for split, p in files.items()}},
    }, sort_keys=False), encoding="utf-8")
    return path
