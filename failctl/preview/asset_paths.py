"""The files a program's assets and archives name, checked as the engine reads them.

`pulumi preview` hashes every `FileAsset`, `FileArchive` and the file members of an
`AssetArchive` before it asks a provider anything, so a path that does not exist fails the
real preview even though the program ran. The engine resolves a relative path against the
language host's working folder: the folder of the program `main` names (engine
`getPwdMain`). An empty folder archive is refused too: it packages to nothing, and a
Lambda function's code would then have no handler to run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import _special_archive_sig, _special_asset_sig, _special_sig_key


class AssetPathError(Exception):
    """An asset or archive the engine could not read: one line naming resource, property and path."""


def _members(value: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(property path, asset or archive) for each one in a value, however deeply nested."""
    if isinstance(value, Mapping):
        if value.get(_special_sig_key) in (_special_asset_sig, _special_archive_sig):
            yield where, value
            assets = value.get("assets")
            if isinstance(assets, Mapping):
                for name, member in assets.items():
                    yield from _members(member, f"{where}.assets[{name!r}]")
            return
        for key, inner in value.items():
            yield from _members(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _members(inner, f"{where}[{index}]")


def _problem(value: Mapping[str, Any], folder: Path) -> tuple[str, str] | None:
    """(path as written, what is wrong) for an asset or archive whose file cannot be read."""
    written = value.get("path")
    if not isinstance(written, str):
        return None  # a string asset, a remote one, or an archive of assets: nothing on disk here
    path = Path(written).expanduser()
    path = path if path.is_absolute() else folder / path
    is_archive = value.get(_special_sig_key) == _special_archive_sig
    if not path.exists():
        return written, f"does not exist (resolved against the program's folder {folder})"
    if not is_archive and not path.is_file():
        return written, "is not a file"
    if is_archive and path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
        return written, "is an empty folder: the archive would hold no code"
    return None


def check_asset_paths(resources: Iterator[Any] | list[Any], folder: Path) -> None:
    """Raise on the first asset or archive path of a registration the engine could not read."""
    for resource in resources:
        for where, value in _members(resource.props, ""):
            problem = _problem(value, folder)
            if problem is not None:
                written, what = problem
                raise AssetPathError(f"{resource.name} ({resource.type}) {where}: path {written!r} {what}")
