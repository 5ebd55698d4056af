"""JSON read within bounds, for every results file ganbench reads back (summaries, suite
records, metrics.jsonl, baselines).

Python's ``json`` recurses once per nesting level (``'[' * 100000`` is a RecursionError),
turns a 5,000-digit integer into Python's own "Exceeds the limit" error, and reads
``NaN``/``Infinity``, which ganbench never writes (it writes null). Here a text is refused,
with the file named, when it is:

- larger than ``MAX_BYTES``;
- nested deeper than ``MAX_DEPTH`` (measured on the text, before anything is parsed);
- holding an integer of more than ``MAX_DIGITS`` digits, or NaN / Infinity.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 256 << 20  # 256 MiB: a long run's metrics.jsonl is a few MB
MAX_DEPTH = 64  # ganbench's own files nest at most ~6 levels
MAX_DIGITS = 64  # a seed or a count has at most 20

# a JSON string (escapes included): its brackets are not nesting
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


class JSONProblem(ValueError):
    """A JSON file that is not what ganbench writes; the message names the file."""


def depth(text: str) -> int:
    """Deepest nesting of arrays and objects in ``text`` (strings skipped), in linear time
    and without recursion."""
    bare = _STRING.sub("", text)
    codes = np.frombuffer(bare.encode("utf-8", "replace"), dtype=np.uint8)
    step = np.zeros(len(codes), dtype=np.int64)
    step[(codes == ord("[")) | (codes == ord("{"))] = 1
    step[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JSONProblem(f"an integer of {len(text.lstrip('-'))} digits (at most "
                          f"{MAX_DIGITS})")
    return int(text)


def _constant(name: str) -> Any:
    raise JSONProblem(f"{name} is not a JSON value (ganbench writes no value as null)")


def loads(text: str | bytes, source: str = "JSON", constants: bool = False) -> Any:
    """One JSON document, checked as the module docstring says; raises JSONProblem naming
    ``source``. ``constants``: read NaN / Infinity as floats (for a reader whose own
    validation then names the key that holds one)."""
    if len(text) > MAX_BYTES:
        raise JSONProblem(f"{source}: larger than {MAX_BYTES} bytes, the most that is read")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONProblem(f"{source}: not UTF-8 text (byte {exc.start})") from None
    d = depth(text)
    if d > MAX_DEPTH:
        raise JSONProblem(f"{source}: nested {d} levels deep (at most {MAX_DEPTH}); not a "
                          "file ganbench wrote")
    try:
        return json.loads(text, parse_int=_int,
                          parse_constant=float if constants else _constant)
    except JSONProblem as exc:
        raise JSONProblem(f"{source}: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise JSONProblem(f"{source}: not valid JSON ({str(exc)[:200]})") from None


def read(path: Path | str, constants: bool = False) -> Any:
    """``loads`` of a file; an unreadable file is a JSONProblem too."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise JSONProblem(f"{p}: larger than {MAX_BYTES} bytes, the most that is read")
        data = p.read_bytes()
    except OSError as exc:
        raise JSONProblem(f"{p}: unreadable ({exc.strerror or type(exc).__name__})") from None
    return loads(data, str(p), constants)


def read_lines(path: Path | str) -> list[Any]:
    """Every non-blank line of a JSON-lines file, each read by ``loads``."""
    p = Path(path)
    text = read_text(p)
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            out.append(loads(line, f"{p} line {i}"))
    return out


def read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise JSONProblem(f"{path}: larger than {MAX_BYTES} bytes, the most that is read")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONProblem(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise JSONProblem(f"{path}: unreadable ({exc.strerror or type(exc).__name__})") from None
