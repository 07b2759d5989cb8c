"""``python -m estimate release``: the version as one zip, the same bytes every time.

``dist/<name>-<version>.zip`` unpacks to one folder ``<name>-<version>/`` holding the
descriptor (every resource with its size and SHA-256), the tables, derived tables,
archived texts, workbook and figures, the README, LICENSE, CITATION.cff, CHANGELOG and a
SHA256SUMS file. Entries are sorted, stamped with the release date and given fixed
permissions, so nothing about the machine or the moment of the build reaches the bytes.
"""

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from estimate import versions
from estimate.outputs import UsageError, run_writer
from estimate.tables import DESCRIPTOR, Loaded, descriptor_bytes
from estimate.workbook import path_for

DOCUMENTS = ("README.md", "LICENSE", "CITATION.cff", "CHANGELOG.md")
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


def contents(package: Loaded) -> dict[str, bytes]:
    """Every file of the release by its path inside the release folder."""
    root, descriptor = package.root, package.descriptor
    paths = [r["path"] for r in descriptor["resources"]] + list(DOCUMENTS) + [str(path_for(descriptor))]
    # Only the folder's own files: a link (to /etc/passwd, say) or a folder among the figures
    # never reaches the zip.
    paths += [str(p.relative_to(root)) for p in sorted((root / FIGURES).iterdir()) if p.is_file() and not p.is_symlink()]
    missing = [p for p in paths if not (root / p).is_file()]
    if missing:
        raise UsageError(f"cannot release: {', '.join(missing)} missing — run 'make release', which builds them first")
    files = {p: (root / p).read_bytes() for p in paths}
    files[DESCRIPTOR] = descriptor_bytes(stamped(descriptor, root))
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


def archive(package: Loaded) -> tuple[str, bytes]:
    """The release zip's file name and bytes."""
    descriptor = package.descriptor
    return f"{name(descriptor)}.zip", zip_bytes(contents(package), name(descriptor), versions.release_moment(descriptor))


def uncommitted(root: Path, output: Path) -> list[str]:
    """Files of the working tree that differ from its last commit (changed, added, deleted or
    untracked and not ignored), outside the release folder: a release is built from a commit."""
    git = lambda *argv: subprocess.run(["git", "-C", str(root), *argv], capture_output=True, text=True, check=True).stdout
    try:
        top = Path(git("rev-parse", "--show-toplevel").strip())
        status = git("status", "--porcelain", "--untracked-files=all", "-z", "--", ".")
    except (OSError, subprocess.CalledProcessError):
        raise UsageError(f"cannot release: {root} is not a git checkout, so nothing shows that its files are a commit's — "
                         "release from a clone of the repository; nothing was written.") from None
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
                         "the changes (or undo them), then run 'make release' again; nothing was written.")
    problems = versions.check(package.root, package) + versions.unreleased(package.root)
    if problems:
        raise UsageError("\n".join(map(str, problems)) + f"\n{len(problems)} problem(s): the version is not ready to release; nothing was written.")
    descriptor = package.descriptor
    filename, data = archive(package)
    target = args.output / filename
    earlier = package.root / target
    if earlier.is_file() and earlier.read_bytes() != data:
        raise UsageError(f"{target} already holds a different {descriptor['version']}, and a released version never changes — "
                         "bump the version (python -m estimate bump X.Y.Z), or delete that zip if it was never published; "
                         "nothing was written.")
    print(f"sha256 {sha256(data)}", file=sys.stderr)
    return {target: data}


def main(args) -> int:
    return run_writer(args, build)
