"""Read, validate and build a watch config, collecting every problem with its line."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import schema as schema_mod
from .checks import semantic_errors
from .host_checks import host_errors
from .model import Config, build_config
from .validator import validate
from .yamlsource import LoadError, Problem, Source, dotted, load


class ConfigError(Exception):
    """A config that cannot be applied; `problems` holds one line each."""

    def __init__(self, problems: List[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


_SCHEMA: Optional[Dict[str, Any]] = None


def the_schema() -> Dict[str, Any]:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = schema_mod.build()
    return _SCHEMA


def problems_in(text: str, file: str, on_this_host: bool = True) -> Tuple[List[Problem], Optional[Source]]:
    """Every problem in `text` (empty when good), and the parsed source when it parsed.
    `on_this_host`: also what the host must have (binaries, users, directories)."""
    try:
        source = load(text, file)
    except LoadError as exc:
        return [exc.problem], None
    if not isinstance(source.data, dict):
        return [Problem(file, 1, "", "must be a mapping with `version: 1` and `watches:`; see docs/config.md")], source
    errors = validate(source.data, the_schema())
    if not errors:
        errors = semantic_errors(source.data) + (list(host_errors(source.data)) if on_this_host else [])
    problems = [Problem(file, source.line_of(path), dotted(path), message) for path, message in errors]
    problems.sort(key=lambda p: p.line)
    return problems, source


def parse(text: str, file: str) -> Tuple[Config, Dict[str, Any]]:
    """The built Config and the raw document, or ConfigError."""
    problems, source = problems_in(text, file)
    if problems or source is None:
        raise ConfigError(problems)
    return build_config(file, source.data), source.data

