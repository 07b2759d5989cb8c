"""The command line: ``python -m estimate COMMAND``. Each command is one module's main()."""

import argparse
import importlib
import signal
import sys
from datetime import date
from pathlib import Path

from estimate.package.outputs import ForeignJournal, UsageError, exclusive, recover, refusal


def share(text: str) -> float:
    """A share such as 0.1, or a percentage such as 10%."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(refusal(f"{text!r} is not a share — write it as 0.1 or 10% (more than 0, at most 100%)",
                                                 "argument-not-a-share"))
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(refusal(f"{text!r} is not a date — write it as YYYY-MM-DD, e.g. 2025-05-01",
                                                 "argument-not-a-date")) from None


COMMANDS = {
    "validate": ("package.validate:main", "check the data package: schemas, keys, quotes, numbers, dates and hashes"),
    "new-source": ("maintain.intake:source_main", "archive a new article as the next data/texts/sNNN.txt and print its sources.csv row "
                                       "(--append adds it, with its resource in datapackage.json, once the package stays valid)"),
    "new-claim": ("maintain.intake:claim_main", "print the claims.csv row for a figure in a source: next id, its sentence, hedge, numbers, "
                                     "dates (--append adds it once the package stays valid)"),
    "ranges": ("wording.ranges:main", "write each claim's interval to data/derived/ranges.csv"),
    "fit": ("model.fit:main", "fit the model: data/derived/estimates.csv, estimates_as_of.csv, claimant_bias.csv, claim_fit.csv and fit.json"),
    "conflicts": ("compare.conflicts:main", "write the literal and model conflicts between claims to data/derived/conflicts.csv"),
    "figures": ("publish.figures:main", "draw every chart in English and Spanish, PNG and SVG, in figures/"),
    "baselines": ("compare.baselines:main", "write the six baseline estimates to data/derived/baselines.csv"),
    "xlsx": ("publish.workbook:main", "write every table, a README sheet and the codebook to one workbook, data/derived/<name>.xlsx"),
    "release": ("publish.release:main", "write the release zip dist/<name>-<version>.zip: data, derived tables, workbook, figures, "
                              "documents and SHA256SUMS, the same bytes every time"),
    "sqlite": ("publish.database:main", "write every table, with its keys and flat views, to one SQLite database dist/<name>.sqlite, "
                                "with a Datasette metadata file from the codebook beside it"),
    "site": ("publish.site:main", "build the website in site/: English and Spanish pages, a claims browser, a page per claimant and "
                          "source, charts and downloads; open site/index.html, no server needed"),
    "diff": ("maintain.diff:main", "say what changed between two versions (package folders or release zips): claims, sources, estimates; "
                            "exit 0 when nothing did, 1 when something did"),
    "reproduce": ("maintain.reproduce:main", "rebuild every derived output in memory and compare it with the committed one: bytes, or "
                                    "within each number's tolerance for the fit (README, Reproducibility); exit 1 on any difference"),
    "bump": ("maintain.bump:main", "give the changes under '## Unreleased' a version: datapackage.json, CITATION.cff and CHANGELOG.md at once"),
    "coverage": ("maintain.coverage:main", "write the README's coverage table (claimants × quantities: assertions, first and last date) "
                                  "from data/claims.csv"),
    "cite": ("publish.citation:main", "print how to cite this version of the package, in APA and BibTeX (from CITATION.cff)"),
}
OPTIONS = {
    "new-source": [
        (("text",), dict(type=Path, nargs="?", metavar="ARTICLE.txt", help="an archived source: the article's text, UTF-8, exactly as published (it is archived byte for byte); leave it out for a reference source (--url and --read)")),
        (("--published",), dict(required=True, metavar="DATE", type=iso_date, help="publication date, or the earliest it can be (YYYY-MM-DD)")),
        (("--published-latest",), dict(metavar="DATE", type=iso_date, help="the latest the publication date can be (default: --published)")),
        (("--basis",), dict(required=True, choices=["printed", "inferred"], help="printed on the article, or inferred from its text")),
        (("--evidence",), dict(required=True, help="the words or reasoning the dates rest on")),
        (("--title",), dict(help="the headline, verbatim (archived: default the first sentence, as title_kind first_sentence; reference: as printed on the page, if it showed one)")),
        (("--outlet",), dict(help="the outlet that published it (required for a reference source; for an archived text, if it says)")),
        (("--url",), dict(help="where it was published, exactly as found (https; required for a reference source)")),
        (("--read",), dict(metavar="DATE", type=iso_date, help="a reference source: the date you read the page")),
        (("--language",), dict(default="es", help="two-letter language code (default: es)")),
        (("--note",), dict(help="anything a reader should know about the source")),
        (("--append",), dict(action="store_true", help="add the row to the package (after validating the result) instead of only printing it")),
    ],
    "new-claim": [
        (("--source",), dict(required=True, help="the source_id, e.g. s005")),
        (("--claimant",), dict(required=True, help="the claimant_id of the original speaker (see data/claimants.csv)")),
        (("--quantity",), dict(required=True, help="deployed, killed, wounded, casualties, captured, …")),
        (("--phrase",), dict(required=True, help="the figure's words, verbatim, e.g. 'al menos 3.000'")),
        (("--quote",), dict(help="archived sources: the sentence, verbatim (default: the one sentence of the source that holds the phrase)")),
        (("--paraphrase",), dict(help="reference sources (required): what was claimed, by whom, about what period, in your own words")),
        (("--subject",), dict(default="dprk_forces", help="the counted force (default: dprk_forces)")),
        (("--hedge",), dict(help="the hedge_id (default: the hedge whose wording the phrase uses, else bare)")),
        (("--time-scope",), dict(default="cumulative", choices=["cumulative", "increment", "planned", "present"], help="default: cumulative")),
        (("--unit",), dict(default="persons", help="default: persons")),
        (("--as-of",), dict(metavar="DATE", type=iso_date, help="the date the text gives for the figure (default: the publication dates)")),
        (("--as-of-latest",), dict(metavar="DATE", type=iso_date, help="the latest that date can be, for a span")),
        (("--evidence",), dict(help="with --as-of: the words that date the figure")),
        (("--origin",), dict(help="for a relay: the claim_id of the first report")),
        (("--casualty-definition",), dict(help="for casualties: what the text counts (default: unspecified)")),
        (("--attribution",), dict(default="explicit", choices=["explicit", "context"], help="default: explicit (none for unattributed)")),
        (("--via",), dict(help="an intermediary, e.g. a lawmaker briefed by an intelligence service")),
        (("--note",), dict(help="interpretation a reader should know")),
        (("--append",), dict(action="store_true", help="add the row to the package (after validating the result) instead of only printing it")),
    ],
    "validate": [
        (("--json",), dict(action="store_true", help="print the problems as JSON records (file, row, column, code, message) "
                                                      "on standard output, for machines")),
    ],
    "bump": [
        (("version",), dict(metavar="X.Y.Z", help="the new version (see README, Versions: major, minor or patch)")),
        (("--date",), dict(metavar="DATE", type=iso_date, help="the release date (YYYY-MM-DD; default: today)")),
    ],
    "diff": [
        (("old",), dict(type=Path, metavar="OLD", help="the earlier version: a package folder or a release zip")),
        (("new",), dict(type=Path, metavar="NEW", help="the later version: a package folder or a release zip")),
        (("--threshold",), dict(type=share, default=0.1, help="report estimates that moved by more than this share: 0.1 or 10%% (the default)")),
    ],
    "release": [
        (("--output",), dict(type=Path, default=Path("dist"), help="the folder to write the zip to (default: dist)")),
    ],
    "sqlite": [
        (("--output",), dict(type=Path, default=Path("dist"), help="the folder to write the database to (default: dist)")),
    ],
    "fit": [
        (("--as-of",), dict(metavar="DATE", type=iso_date, help="use only claims from sources certainly published by DATE (YYYY-MM-DD); "
                                                 "writes data/derived/estimates_as_of_DATE.csv beside the main estimates")),
    ],
    "reproduce": [
        (("--seed",), dict(type=int, help="refit with another seed: shows that the committed numbers hold within their Monte Carlo tolerance")),
    ],
    "ranges": [
        (("--lexicon",), dict(default="main", help="main (data/hedges.csv), narrow or wide (data/hedges_sensitivity.csv)")),
        (("--output",), dict(type=Path, help="where to write (default: data/derived/ranges.csv for main, standard output otherwise; '-' for standard output)")),
    ],
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=Path("."), help="the package folder (default: the current folder)")
    parser = argparse.ArgumentParser(prog="python -m estimate",
                                     description="Claims about North Korean troops in Russia's war: validation and estimates.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, summary) in COMMANDS.items():
        command = commands.add_parser(name, parents=[common], help=summary, description=summary)
        for flags, options in OPTIONS.get(name, []):
            command.add_argument(*flags, **options)
        command.set_defaults(run=run)
    return parser.parse_args(argv)


# Commands that change the package: one at a time per folder (estimate.package.outputs.exclusive).
WRITERS = {"new-source", "new-claim", "ranges", "fit", "conflicts", "figures", "baselines", "xlsx", "release", "sqlite", "site", "bump",
           "coverage"}


def terminated(signal_number, frame):
    """SIGTERM as an exception, so that a command stopped by it cleans up as after an error."""
    raise SystemExit(128 + signal_number)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Each command's module is imported only when it runs: matplotlib, scipy and
    # frictionless take seconds to import, and most commands need one of them at most.
    if args.root.exists() and not args.root.is_dir():
        print(refusal(f"--root {args.root} is a file, not a folder — give the package folder, the one that holds datapackage.json",
                      "root-is-a-file"), file=sys.stderr)
        return 2
    module, function = args.run.split(":")
    run = getattr(importlib.import_module(f"estimate.{module}"), function)
    if args.command not in WRITERS:
        # Whatever a command killed while writing left is finished first, unless a writer
        # holds the package: then that writer is still at work, and finishes it itself.
        try:
            with exclusive(args.root, wait=0):
                recover(args.root)
        except ForeignJournal as error:
            print(error, file=sys.stderr)
            return 2
        except UsageError:
            pass
        return run(args)
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        with exclusive(args.root):
            recover(args.root)
            return run(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
