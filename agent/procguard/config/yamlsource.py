"""Load YAML while remembering the line of every key, so errors can point at it.

Bounded, because a config is untrusted input until its signature holds and `procguard
check` runs on whatever it is given: the text's size, the nesting depth (already while
scanning: PyYAML's scanner takes quadratic time in the depth of `[[[[...`), the number of
nodes built (an alias counts again each time it is used, so an alias bomb stops early) and
the pairs merge keys add (`<<:` merging the same mapping again and again). A key must be a
plain value: a list or mapping as a key would be built, and printed, without any bound.
Anything the YAML library raises becomes a one-line problem, never a traceback; every
problem is one line of printable text, whatever characters the file holds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import yaml
import yaml.reader

Path = Tuple[Any, ...]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 200_000
SCAN_DEPTH = 2 * MAX_DEPTH  # the scanner stops here; the nodes' depth is checked exactly later
MERGE = "tag:yaml.org,2002:merge"


@dataclass
class Problem:
    """One thing wrong in a file: where, which key, what is wrong and what to write instead."""

    file: str
    line: int
    key: str
    message: str

    def __post_init__(self) -> None:
        self.key = printable(self.key)
        self.message = printable(self.message)

    def __str__(self) -> str:
        key = f" {self.key}:" if self.key else ""
        return f"{self.file}:{self.line}:{key} {self.message}"


@dataclass
class Source:
    """A parsed document plus the line of each path in it (paths are tuples of keys/indexes)."""

    file: str
    data: Any
    lines: Dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class LoadError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class _Budget:
    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


class _Bound(Exception):
    """Raised from inside the loader: the document is too deep or too large (line, what)."""

    def __init__(self, mark: Any, what: str) -> None:
        super().__init__(what)
        self.line = mark.line + 1 if mark is not None else 1
        self.what = what


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounds on what it does before our nodes are counted."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.merged = 0
        self.merging: List[int] = []

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= SCAN_DEPTH:
            raise _Bound(self.get_mark(), f"is nested too deeply (at most {MAX_DEPTH} levels)")
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= SCAN_DEPTH:
            raise _Bound(self.get_mark(), f"is nested too deeply (at most {MAX_DEPTH} levels)")
        return super().add_indent(column)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge keys: the merged pairs first, in order, then the node's own (a key in both
        is then reported as a duplicate). Each pair merged counts against the node budget."""
        if id(node) in self.merging:
            raise _Bound(node.start_mark, "a merge key (<<) merges a mapping into itself; remove it")
        own, merged = [], []
        self.merging.append(id(node))
        try:
            for key_node, value_node in node.value:
                if key_node.tag != MERGE:
                    own.append((key_node, value_node))
                    continue
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise _Bound(source.start_mark, "a merge key (<<) must name a mapping or a list of them")
                    self.flatten_mapping(source)
                    self.merged += len(source.value)
                    if self.merged > MAX_NODES:
                        raise _Bound(node.start_mark, f"merge keys (<<) add more than {MAX_NODES} values; "
                                                      "simplify the file")
                    merged.extend(source.value)
        finally:
            self.merging.pop()
        node.value = merged + own


def load(text: str, file: str) -> Source:
    """Parse `text`; raise LoadError with the line for broken YAML or duplicate keys."""
    if len(text) > MAX_BYTES:
        raise LoadError(Problem(file, 1, "", f"is larger than {MAX_BYTES // 1024} KiB; split it or trim it"))
    loader: Optional[_BoundedLoader] = None
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if node is None:
            return Source(file, None, {(): 1})
        source = Source(file, None, {})
        source.data = _build(loader, node, (), source, _Budget())
        return source
    except RecursionError:
        raise LoadError(Problem(file, 1, "", f"is nested too deeply (at most {MAX_DEPTH} levels)")) from None
    except _Bound as exc:
        raise LoadError(Problem(file, exc.line, "", exc.what)) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        raise LoadError(Problem(file, line, "", f"character {char!r} is not allowed in YAML; remove it, or "
                                                "write it as an escape in a double-quoted string")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            what = f"{what} ({exc.context} started on line {exc.context_mark.line + 1})"
        raise LoadError(Problem(file, line, "", f"broken YAML: {what}; fix the syntax on this line")) from None
    except yaml.YAMLError as exc:
        raise LoadError(Problem(file, 1, "", f"broken YAML: {_one_line(str(exc))}")) from None
    except LoadError:
        raise
    except Exception as exc:  # a constructor's own error: !!int of 5,000 digits, a bad !!timestamp
        raise LoadError(Problem(file, 1, "", f"a value cannot be read: {_one_line(str(exc))}")) from None
    finally:
        if loader is not None:
            loader.dispose()


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def printable(text: str) -> str:
    """`text` on one line: control, format and separator characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, source: Source, budget: _Budget) -> Any:
    budget.nodes += 1
    line = node.start_mark.line + 1
    if budget.nodes > MAX_NODES:
        raise LoadError(Problem(source.file, line, dotted(path),
                                f"more than {MAX_NODES} values (an alias used too often?); simplify the file"))
    if len(path) > MAX_DEPTH:
        raise LoadError(Problem(source.file, line, dotted(path), f"is nested too deeply (at most {MAX_DEPTH} levels)"))
    source.lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: Dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise LoadError(Problem(source.file, key_node.start_mark.line + 1, dotted(path),
                                        "a key must be a plain name, not a list or a mapping"))
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child = path + (key,)
            if key in result:
                raise LoadError(Problem(
                    source.file, key_node.start_mark.line + 1, dotted(child),
                    "duplicate key; keep only one of them"))
            source.lines[child] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, child, source, budget)
        return result
    if isinstance(node, yaml.SequenceNode):
        items: List[Any] = []
        for index, item in enumerate(node.value):
            items.append(_build(loader, item, path + (index,), source, budget))
        return items
    value = loader.construct_object(node, deep=True)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # timestamps stay text, as the schema expects
    return value


def dotted(path: Path) -> str:
    """('watches', 0, 'start', 'argv') -> 'watches[0].start.argv'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
