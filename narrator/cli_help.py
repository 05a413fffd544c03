"""Help that reads like other command-line tools': TEXT, INTEGER, PATH and [mp3|m4b] as
placeholders, ESSAYS... for arguments.

typer's own help shows Python types (`<str>`, `<list[Path]>`, `{essays}...`); the group
class here gives every command's parameters a conventional metavar instead.
"""

from __future__ import annotations

import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", bool: "BOOLEAN"}


def placeholder(annotation: Any) -> str:
    """The metavar for a parameter of this type: TEXT, INTEGER, PATH, [a|b] for choices."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):  # Optional[X]
        annotation = next(a for a in get_args(annotation) if a is not type(None))
        origin = get_origin(annotation)
    if origin is list:
        return placeholder(get_args(annotation)[0])
    if origin is Literal:
        return f"[{'|'.join(map(str, get_args(annotation)))}]"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return f"[{'|'.join(str(member.value) for member in annotation)}]"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "PATH"
    return _NAMES.get(annotation, "VALUE")


class _Argument(TyperArgument):
    """An argument shown by its name alone, as ESSAYS... or [TEXT]."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"


def _plain(param: Any) -> None:
    if isinstance(param, TyperArgument):
        param.__class__ = _Argument
        param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
    elif isinstance(param, TyperOption) and not param.is_flag and param.metavar is None:
        param.metavar = placeholder(param.type_descriptor.annotation)


class PlainHelpGroup(TyperGroup):
    """A typer group whose commands' help uses conventional placeholders."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.commands.values():
            for param in command.params:
                _plain(param)
