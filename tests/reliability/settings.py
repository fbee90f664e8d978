"""Settings of the process-level runs: production settings, both services on the pair router."""

from maskednumbers.settings import *  # noqa: F403

from .pairs import make_pairs

MASKED_NUMBERS_ROUTERS = {
    "rides": "tests.reliability.router.PairRouter",
    "conversations": "tests.reliability.router.PairRouter",
}
RELIABILITY_PAIRS = make_pairs(50)
