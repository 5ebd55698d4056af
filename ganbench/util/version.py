"""The installed version of ganbench."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("ganbench")
    except metadata.PackageNotFoundError:  # run from a source tree that was not installed
        return "0+unknown"
