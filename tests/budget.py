"""Example budgets of the property tests: a test names what one of its examples costs, the active hypothesis
profile (tests/conftest.py) decides how many examples that buys.

A profile's ``max_examples`` is the budget of the cheapest class; each class below is a fixed share of it, so
switching the profile (``--hypothesis-profile slow`` or ``SRCFPGA_HYPOTHESIS_PROFILE=slow``) scales every test
alike. A property test is decorated with ``@budget(CLASS)`` instead of ``@settings(max_examples=N)``::

    @budget(SIMULATION)
    @given(seed=st.integers(0, 2**16), ...)
    def test_network_bit_exact(seed, ...): ...

The shares follow the CPU time of one example, measured on the 2-core development machine (2026-12-01), so that
every class costs the same order of time per test. ``budget`` reads the active profile when the test module is
imported, which pytest does after loading the profile (``pytest_configure``); do not import this module from
conftest.py.
"""

from __future__ import annotations

from hypothesis import settings

ARITHMETIC = 1.0          # integer / numpy arithmetic on a few small arrays, a scalar reference: <= 10 ms
MODEL = 1 / 4             # a golden or torch QAT run of a small network, a table on every input, one neuron in
                          # Amaranth's simulator: 10-200 ms
SIMULATION = 1 / 16       # a small network in Amaranth's simulator, compared state by state with golden: 1-3.5 s
LONG_SIMULATION = 1 / 25  # the same behind the pixel encoder or in the multi-network harness: 3-4 s


def budget(share: float) -> settings:
    """``settings`` with ``share`` (one of the classes above) of the active profile's ``max_examples``, at least
    one; every other setting (derandomization, deadline, health checks) is the profile's."""
    return settings(max_examples=max(1, round(share * settings.default.max_examples)))
