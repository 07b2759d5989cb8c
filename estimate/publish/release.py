"""``python -m estimate release``: the version as one zip, the same bytes every time.

``dist/<name>-<version>.zip`` unpacks to one folder ``<name>-<version>/`` holding the
descriptor (every resource with its size and SHA-256), the tables, derived tables,
archived texts, workbook and figures, the README, LICENSE, CITATION.cff, CHANGELOG and a
SHA256SUMS file. Entries are sorted, stamped with the release date and given fixed
permissions, so nothing about the machine or the moment of the build reaches the bytes.

``dist/<name>-<version>-public.zip`` is the same without the archived texts, whose rights
stay with their publishers: the one to upload to a public repository (Zenodo, say). It
keeps each text's size and hash in the descriptor and its provenance in sources.csv, and
adds TEXTS.SHA256 and TEXTS.md, which say how to check a copy of the texts obtained
elsewhere.
"""

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from estimate.package import versions
from estimate.package.outputs import UsageError, run_writer
from estimate.package.tables import DESCRIPTOR, Loaded, descriptor_bytes
from estimate.publish.workbook import path_for

DOCUMENTS = ("README.md", "LICENSE", "CITATION.cff", "CHANGELOG.md")
TEXTS = "data/texts/"
# What the public zip says in place of the texts ({rows}: one line per text).
TEXTS_NOTE = """# The archived source texts are not in this zip

The articles archived in `data/texts/` are not ours to license: their rights stay with
their publishers, so this public copy of version {version} leaves them out. Everything else
is here. `datapackage.json` still lists each text with its size and SHA-256, and
`data/sources.csv` says where each came from (outlet, title, dates, `archived_from`).

| file | source | bytes | SHA-256 |
|---|---|---|---|
{rows}

To check a copy of the texts (from the project's repository, where `data/texts/` holds
them, or from the complete release zip): put each file at its path inside this folder,
byte for byte, then run

    sha256sum -c TEXTS.SHA256          # macOS: shasum -a 256 -c TEXTS.SHA256
    frictionless validate datapackage.json

Each line must say OK, and the package must be valid: then every quote in
`data/claims.csv` can be checked against the text it was taken from.

> Los textos de las fuentes archivadas no están en este zip: sus derechos son de sus
> editores. `datapackage.json` conserva el tamaño y el SHA-256 de cada uno. Para comprobar
> una copia, colóquela en su ruta y ejecute `sha256sum -c TEXTS.SHA256`.
"""
FIGURES = Path("figures")
MODE = 0o644


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stamped(descriptor: dict, root: Path) -> dict:
    """The descriptor with each resource's ``bytes`` and ``hash`` measured from its file."""
    copy = json.loads(json.dumps(descriptor))
    for resource in copy["resources"]:
        data = (root / resource["path"]).read_bytes()
        resource["bytes"] = len(data)
        resource["hash"] = f"sha256:{sha256(data)}"
    return copy


def contents(package: Loaded, public: bool = False) -> dict[str, bytes]:
    """Every file of the release by its path inside the release folder; for the public
    release, without the archived texts and with what identifies them."""
    root, descriptor = package.root, package.descriptor
    paths = [r["path"] for r in descriptor["resources"]] + list(DOCUMENTS) + [str(path_for(descriptor))]
    # Only the folder's own files: a link (to /etc/passwd, say) or a folder among the figures
    # never reaches the zip.
    paths += [str(p.relative_to(root)) for p in sorted((root / FIGURES).iterdir()) if p.is_file() and not p.is_symlink()]
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        raise UsageError(f"cannot release: {', '.join(missing)} missing — run 'make release', which builds them first", code="release-outputs-missing")
    files = {p: (root / p).read_bytes() for p in paths}
    files[DESCRIPTOR] = descriptor_bytes(stamped(descriptor, root))
    if public:
        texts = {p: files.pop(p) for p in sorted(files) if p.startswith(TEXTS)}
        files["TEXTS.SHA256"] = "".join(f"{sha256(data)}  {p}\n" for p, data in texts.items()).encode("utf-8")
        sources = {r["text_path"]: r["source_id"] for r in package.tables["sources"].rows if r["text_path"]}
        rows = "\n".join(f"| `{p}` | {sources.get(p, '')} | {len(data)} | `{sha256(data)}` |" for p, data in texts.items())
        files["TEXTS.md"] = TEXTS_NOTE.format(version=descriptor["version"], rows=rows).encode("utf-8")
    files["SHA256SUMS"] = "".join(f"{sha256(files[p])}  {p}\n" for p in sorted(files)).encode("utf-8")
    return files


def zip_bytes(files: dict[str, bytes], folder: str, stamp: datetime) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the permissions below are read
            info.external_attr = MODE << 16
            archive.writestr(info, files[path], compresslevel=9)
    return stream.getvalue()


def name(descriptor: dict) -> str:
    return f"{descriptor['name']}-{descriptor['version']}"


def archive(package: Loaded, public: bool = False) -> tuple[str, bytes]:
    """A release zip's file name and bytes: the complete one, or the public one."""
    descriptor = package.descriptor
    filename = f"{name(descriptor)}{'-public' if public else ''}.zip"
    return filename, zip_bytes(contents(package, public), name(descriptor), versions.release_moment(descriptor))


def uncommitted(root: Path, output: Path) -> list[str]:
    """Files of the working tree that differ from its last commit (changed, added, deleted or
    untracked and not ignored), outside the release folder: a release is built from a commit."""
    git = lambda *argv: subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True, check=True).stdout
    try:
        top = Path(git("rev-parse", "--show-toplevel").strip())
        status = git("status", "--porcelain", "--untracked-files=all", "-z", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        raise UsageError(f"cannot release: {root} is not a git checkout, so nothing shows that its files are a commit's — "
                         "release from a clone of the repository; nothing was written.", code="release-not-a-git-checkout") from None
    entries, paths = iter(status.split("\0")), []
    for entry in entries:
        if len(entry) > 3:
            paths.append(str((top / entry[3:]).resolve().relative_to(root.resolve())))
            if entry[0] in "RC":  # a rename or copy: its source path follows as its own entry
                next(entries, None)
    inside = (root / output).resolve()
    return [p for p in paths if not (root / p).resolve().is_relative_to(inside)]


def build(package: Loaded, args) -> dict[Path, bytes]:
    changed = uncommitted(package.root, args.output)
    if changed:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
        raise UsageError(f"cannot release: {len(changed)} file(s) differ from the last commit ({shown}) — a release is built "
                         "from a commit: commit "
                         "the changes (or undo them), then run 'make release' again; nothing was written.", code="release-uncommitted-changes")
    problems = versions.check(package.root, package) + versions.unreleased(package.root)
    if problems:
        raise UsageError("\n".join(map(str, problems)) + f"\n{len(problems)} problem(s): the version is not ready to release; nothing was written.", code="release-not-ready")
    descriptor = package.descriptor
    result = {}
    for public in (False, True):
        filename, data = archive(package, public)
        target = args.output / filename
        earlier = package.root / target
        if earlier.is_file() and earlier.read_bytes() != data:
            raise UsageError(f"{target} already holds a different {descriptor['version']}, and a released version never changes — "
                             "bump the version (python -m estimate bump X.Y.Z), or delete that zip if it was never published; "
                             "nothing was written.", code="release-version-changed")
        print(f"sha256 {sha256(data)}  {filename}", file=sys.stderr)
        result[target] = data
    return result


def main(args) -> int:
    return run_writer(args, build)
