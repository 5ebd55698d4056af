"""What ganbench ships beside its code: the suites (``suites/`` at the top of the repository)
and their regression baselines (``results/baselines/``). A wheel carries them inside the
package (``ganbench/_shipped/``, copied there by the build: see setup.py); a source checkout
(an editable install) reads the top-level folders themselves. A bare name such as
``mode_collapse`` names a shipped suite; a path stays a path."""

from __future__ import annotations

from pathlib import Path

from ganbench.registry import unknown_message
from ganbench.suite.errors import SuiteError

_PACKAGE = Path(__file__).resolve().parents[1]
# inside an installed wheel | in a source checkout
_WHERE = {"suites": (_PACKAGE / "_shipped" / "suites", _PACKAGE.parent / "suites"),
          "baselines": (_PACKAGE / "_shipped" / "baselines",
                        _PACKAGE.parent / "results" / "baselines")}
_SUFFIX = {"suites": ".yaml", "baselines": ".json"}


def shipped_dir(kind: str) -> Path | None:
    """The folder of shipped ``suites`` or ``baselines``; None when this install has none."""
    for d in _WHERE[kind]:
        if d.is_dir():
            return d
    return None


def shipped(kind: str) -> dict[str, Path]:
    """Name -> file of every shipped suite ('mode_collapse', 'papers/metz_unrolled') or
    baseline ('ci'), in name order."""
    d = shipped_dir(kind)
    if d is None:
        return {}
    files = sorted(d.rglob(f"*{_SUFFIX[kind]}"))
    return {p.relative_to(d).with_suffix("").as_posix(): p for p in files}


def _is_name(text: str, kind: str) -> bool:
    """A bare name, not a path: no folder other than a shipped one, no file suffix."""
    return bool(text) and not text.endswith((_SUFFIX[kind], ".yml")) and not text.startswith(
        (".", "/", "~"))


def resolve(text: str | Path, kind: str, what: str) -> Path:
    """The file ``text`` names: an existing path as it is, else a shipped name. A path
    that does not exist stays that path (the caller says so); an unknown bare name is an
    error listing the shipped ones."""
    p = Path(text)
    if p.is_file() or not _is_name(str(text), kind):
        return p
    found = shipped(kind)
    if str(text) in found:
        return found[str(text)]
    if not found:
        raise SuiteError(str(text), [("", f"no such file, and this install ships no {kind}")])
    raise SuiteError(str(text), [("", "no such file; " + unknown_message(
        f"shipped {what}", str(text), list(found)))])


def suite_path(text: str | Path) -> Path:
    """``ganbench run mode_collapse``: the shipped suite; ``ganbench run my.yaml``: the file."""
    return resolve(text, "suites", "suite")


def baseline_path(text: str | Path) -> Path:
    """``ganbench check ... --baseline ci``: the shipped baseline; a path stays a path."""
    return resolve(text, "baselines", "baseline")
