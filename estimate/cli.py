"""The command line: ``python -m estimate COMMAND``. Each command is one module's main()."""

import argparse
from pathlib import Path

from estimate import validate

COMMANDS = {
    "validate": (validate.main, "check the data package: schemas, keys, quotes, numbers, dates and hashes"),
}


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=Path("."), help="the package folder (default: the current folder)")
    parser = argparse.ArgumentParser(prog="python -m estimate",
                                     description="Claims about North Korean troops in Russia's war: validation and estimates.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, summary) in COMMANDS.items():
        commands.add_parser(name, parents=[common], help=summary, description=summary).set_defaults(run=run)
    args = parser.parse_args(argv)
    return args.run(args)
