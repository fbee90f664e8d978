"""Opt-out and opt-in keywords, and the opt-out record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.consent import (
    Consent,
    consent_keyword,
    is_opted_out,
    opt_in_record,
    opt_out_record,
)
from providers.models import OptOut
from tests import factories

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]
PERSON = "+14155550123"


def _any_case(draw, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.lower() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def dressed_keyword(draw, words: list[str]) -> str:
    """A keyword as people type it: any case, with spaces and punctuation around it."""
    word = _any_case(draw, draw(st.sampled_from(words)))
    edge = st.text(alphabet=" \t\n.!?,;:'\"()*-~", max_size=4)
    return draw(edge) + word + draw(edge)


@given(dressed_keyword(OPT_OUT))
def test_every_opt_out_keyword_is_recognised_in_any_case_and_punctuation(text):
    assert consent_keyword(text) is Consent.OPT_OUT


@given(dressed_keyword(["START", "UNSTOP", "YES"]))
def test_every_opt_in_keyword_is_recognised_in_any_case_and_punctuation(text):
    assert consent_keyword(text) is Consent.OPT_IN


@pytest.mark.parametrize(
    "text",
    ["opt-out", "Opt out.", "  stop!!", "STOP\n", "UNSUBSCRIBE."],
)
def test_keywords_people_type_count(text):
    assert consent_keyword(text) is Consent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["stop at the gate", "please stop", "STOPPED", "", "   ", "?!", "don't stop", "yes please"],
)
def test_a_keyword_inside_a_sentence_is_just_a_text(text):
    assert consent_keyword(text) is None


def test_the_keywords_are_a_setting(settings):
    settings.MASKED_NUMBERS_OPT_OUT_KEYWORDS = ["ARRET"]
    assert consent_keyword("Arret!") is Consent.OPT_OUT
    assert consent_keyword("STOP") is None


@pytest.mark.django_db
def test_an_opt_out_is_per_number_and_lasts_until_the_person_opts_in():
    proxy, other = factories.proxy_number(), factories.proxy_number()
    assert opt_out_record(proxy=proxy, phone=PERSON, keyword="Stop")
    assert is_opted_out(proxy=proxy, phone=PERSON)
    assert not is_opted_out(proxy=other, phone=PERSON)
    assert not opt_out_record(proxy=proxy, phone=PERSON, keyword="STOP")  # already out
    assert opt_in_record(proxy=proxy, phone=PERSON)
    assert not is_opted_out(proxy=proxy, phone=PERSON)
    assert not opt_in_record(proxy=proxy, phone=PERSON)  # already in
    assert opt_out_record(proxy=proxy, phone=PERSON, keyword="QUIT")
    row = OptOut.objects.get(proxy=proxy, phone=PERSON)
    assert (row.keyword, row.opted_in_at) == ("QUIT", None)


@pytest.mark.django_db
def test_staff_see_opt_outs_masked_and_cannot_opt_anyone_back_in(masked_client):
    proxy = factories.proxy_number(number="+12065550100")
    opt_out_record(proxy=proxy, phone=PERSON, keyword="STOP")
    row = OptOut.objects.get()

    listing = masked_client.get("/admin/providers/optout/", {"q": "(415) 555-0123"})
    text = listing.content.decode()
    assert list(listing.context["cl"].result_list) == [row]
    assert PERSON not in text
    assert "+12065550100" in text

    page = masked_client.get(f"/admin/providers/optout/{row.pk}/change/").content.decode()
    assert PERSON not in page
    assert 'name="_save"' not in page
    masked_client.post(f"/admin/providers/optout/{row.pk}/change/", {"opted_in_at": "2026-01-01"})
    masked_client.post(f"/admin/providers/optout/{row.pk}/delete/", {"post": "yes"})
    assert is_opted_out(proxy=proxy, phone=PERSON)


@pytest.mark.django_db
def test_staff_allowed_full_numbers_see_who_opted_out(admin_client):
    opt_out_record(proxy=factories.proxy_number(), phone=PERSON, keyword="STOP")
    assert PERSON in admin_client.get("/admin/providers/optout/").content.decode()
