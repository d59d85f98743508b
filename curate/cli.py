"""`xplus curate ...`: the curation subcommands that need no recipe (the recipe runner, `xplus curate run`,
is added by `xplus.pipelines`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from xplus.curate.accounting import AccountingError, run_funnel
from xplus.curate.languages import UnknownLanguageError, get_language


def add_parser(groups: argparse._SubParsersAction) -> argparse._SubParsersAction:
    parser = groups.add_parser("curate", help="curate parallel corpora into instruction data")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    languages = commands.add_parser("languages", help="look up language codes in the registry")
    languages.add_argument("codes", nargs="+", help="any code form: en, EN-US, eng, eng_Latn, swa, __label__sw")
    languages.set_defaults(func=_languages)

    accounting = commands.add_parser("accounting", help="re-check that a finished run lost no pair")
    accounting.add_argument("run_dir", type=Path)
    accounting.set_defaults(func=_accounting)

    report = commands.add_parser("report", help="(re)write the report (report.md + plots) of a finished run")
    report.add_argument("run_dir", type=Path)
    report.set_defaults(func=_report)

    publish = commands.add_parser("publish", help="publish a finished run to the HF Hub (one commit)")
    publish.add_argument("run_dir", type=Path)
    publish.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repo")
    publish.add_argument("--private", action="store_true", help="create the Hub dataset repo as private")
    publish.add_argument("--license", default="other", help="licence id for the card (e.g. cc-by-sa-4.0)")
    publish.add_argument("--folder", type=Path, help="where to build the Hub layout (default: RUN_DIR/hub)")
    publish.add_argument("--dry-run", action="store_true", help="build the folder and card, upload nothing")
    publish.set_defaults(func=_publish)
    return commands


def _languages(args: argparse.Namespace) -> int:
    status = 0
    for code in args.codes:
        try:
            lang = get_language(code)
        except UnknownLanguageError as err:
            print(f"{code}: {err}")
            status = 1
            continue
        print(f"{code} -> {lang.flores200}: {lang.name} (BenchMAX: {lang.benchmax_name}); iso639-1 "
              f"{lang.iso639_1 or '-'}, iso639-3 {lang.iso639_3}, FLORES-101 {lang.flores101 or '-'}, script "
              f"{lang.script}, lid176 {lang.lid176 or '-'}, lid218e {lang.lid218e}, glotlid {lang.glotlid or '-'}, "
              f"segmentation {lang.segmentation}")
    return status


def _report(args: argparse.Namespace) -> int:
    from xplus.curate.report import RunReport

    print(RunReport(args.run_dir).write())
    return 0


def _publish(args: argparse.Namespace) -> int:
    from xplus.curate.publish import build_dataset_folder, config_counts, push

    folder = build_dataset_folder(args.run_dir, args.folder or args.run_dir / "hub", license=args.license,
                                  pretty_name=args.repo_id.split("/")[-1])
    print(f"built {folder}: " + ", ".join(f"{name} {n:,} rows" for name, n in config_counts(folder).items()))
    if args.dry_run:
        return 0
    print(f"uploaded in one commit: {push(folder, args.repo_id, private=args.private)}")
    return 0


def _accounting(args: argparse.Namespace) -> int:
    funnel = run_funnel(args.run_dir)
    print(funnel.table())
    try:
        funnel.check()
    except AccountingError as err:
        print(err)
        return 1
    return 0
