"""What an inbound text says, as a typed command. Pure: no database, no state.

Commands are case-insensitive and surrounding whitespace is ignored. Whether a command
applies depends on the sender's state (in an active conversation only END and HELP are
commands), which is the services' business, so every command keeps the original text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Start:
    text: str


@dataclass(frozen=True)
class Join:
    text: str
    code: str


@dataclass(frozen=True)
class End:
    text: str
    code: str | None = None


@dataclass(frozen=True)
class Help:
    text: str


@dataclass(frozen=True)
class Invalid:
    """A command word used wrongly ("JOIN" without a code, "START now")."""

    text: str
    keyword: str
    problem: str


@dataclass(frozen=True)
class Text:
    """Anything that is not a command: relayed in an active conversation."""

    text: str


Command = Start | Join | End | Help | Invalid | Text


def parse(text: str) -> Command:
    words = text.split()
    if not words:
        return Text(text)
    keyword, args = words[0].upper(), words[1:]
    match keyword, len(args):
        case "START", 0:
            return Start(text)
        case "START", _:
            return Invalid(text, "START", "START takes nothing after it.")
        case "JOIN", 1:
            return Join(text, code=args[0].upper())
        case "JOIN", 0:
            return Invalid(text, "JOIN", "JOIN needs the code, like JOIN K7Q2XM.")
        case "JOIN", _:
            return Invalid(text, "JOIN", "JOIN takes one code, like JOIN K7Q2XM.")
        case "END", 0:
            return End(text)
        case "END", 1:
            return End(text, code=args[0].upper())
        case "END", _:
            return Invalid(text, "END", "END takes at most one code, like END K7Q2XM.")
        case "HELP", 0:
            return Help(text)
        case "HELP", _:
            return Invalid(text, "HELP", "HELP takes nothing after it.")
    return Text(text)
