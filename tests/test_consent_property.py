"""No opt-out keyword, in any case and with any punctuation, is ever relayed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.models import Direction, Message
from tests import factories
from tests.providers.test_consent import OPT_OUT, dressed_keyword
from tests.texting import delivered_to
from tests.texting import text as text_to

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_not_relayed(inbound: Message, keyword: str, other: str) -> None:
    assert inbound.outcome in ("opted_out", "opted_out_again")
    assert not Message.objects.filter(direction=Direction.OUTBOUND, body=keyword).exists()
    assert keyword not in delivered_to(other)


@EXAMPLES
@given(keyword=dressed_keyword(OPT_OUT), by_customer=st.booleans())
def test_no_opt_out_keyword_is_relayed_on_a_rides_number(keyword, by_customer):
    proxy = factories.proxy_number()  # a fresh number and ride each example
    ride = factories.ride(proxy=proxy)
    parties = [ride.customer.phone, ride.driver.phone]
    sender, other = parties if by_customer else parties[::-1]
    inbound = text_to(sender, keyword, to=proxy.number)
    assert_not_relayed(inbound, keyword, other)


@EXAMPLES
@given(keyword=dressed_keyword(OPT_OUT), by_starter=st.booleans())
def test_no_opt_out_keyword_is_relayed_on_a_conversations_number(keyword, by_starter):
    proxy = factories.conversations_number()
    parties = [factories.conversations_person(), factories.conversations_person()]
    factories.conversation(proxy=proxy, starter=parties[0], joiner=parties[1])
    sender, other = parties if by_starter else parties[::-1]
    inbound = text_to(sender, keyword, to=proxy.number)
    assert_not_relayed(inbound, keyword, other)
