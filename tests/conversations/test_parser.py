from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.parser import End, Help, Invalid, Join, Start, Text, parse


@pytest.mark.parametrize("text", ["START", "start", "Start", "  sTaRt \n", "\tSTART"])
def test_start_in_any_case_and_spacing(text):
    assert parse(text) == Start(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("JOIN K7Q2XM", "K7Q2XM"),
        ("join k7q2xm", "K7Q2XM"),
        ("  Join   K7q2Xm  ", "K7Q2XM"),
        ("JOIN\tabc", "ABC"),
    ],
)
def test_join_carries_the_code_upper_cased(text, code):
    assert parse(text) == Join(text, code=code)


@pytest.mark.parametrize("text", ["END", "end", " End  "])
def test_end_without_a_code(text):
    assert parse(text) == End(text, code=None)


@pytest.mark.parametrize(("text", "code"), [("END K7Q2XM", "K7Q2XM"), ("end  k7q2xm ", "K7Q2XM")])
def test_end_with_a_code(text, code):
    assert parse(text) == End(text, code=code)


@pytest.mark.parametrize("text", ["HELP", "help", " Help "])
def test_help(text):
    assert parse(text) == Help(text)


@pytest.mark.parametrize(
    ("text", "keyword", "hint"),
    [
        ("JOIN", "JOIN", "needs the code"),
        ("join  ", "JOIN", "needs the code"),
        ("JOIN me later", "JOIN", "one code"),
        ("START now", "START", "nothing after it"),
        ("END of story", "END", "at most one code"),
        ("help me move", "HELP", "nothing after it"),
    ],
)
def test_missing_or_extra_arguments_are_invalid_with_a_reason(text, keyword, hint):
    command = parse(text)
    assert isinstance(command, Invalid)
    assert command.keyword == keyword
    assert hint in command.problem
    assert command.text == text


@pytest.mark.parametrize(
    "text", ["hello", "", "   ", "starting soon", "joining?", "ending", "K7Q2XM", "Helpful!"]
)
def test_anything_else_is_text_kept_verbatim(text):
    assert parse(text) == Text(text)


def test_commands_keep_the_original_text_for_relaying():
    assert parse("Join me later").text == "Join me later"
    assert parse(" start ").text == " start "


@given(st.text(max_size=200))
def test_any_text_parses_to_a_command_that_keeps_it(text):
    command = parse(text)
    assert command.text == text
    if isinstance(command, Join):
        assert command.code == command.code.upper() and command.code.strip() == command.code
