"""Session fixtures: each variant is baked at most once per xdist worker, and each
postgresql variant gets a database of its own that is dropped at the end."""

import pytest

import harness


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep every check of one variant on one worker (--dist loadgroup), which bakes it
    once. pytest-xdist marks a test's group by appending "@group" to its node id, which
    pytest 9.2 no longer lets it do (pytest-dev/pytest-xdist#1386): the tests were
    spread over every worker, each baking the variant and running the benchmark again.
    Until xdist's fix is released, append it here when xdist could not."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        group = "_".join(sorted({str(mark.args[0]) for mark in item.iter_markers("xdist_group")}))
        if group and not item.nodeid.endswith(f"@{group}"):
            from _pytest.nodeid import NodeId  # pytest >= 9.2, where node ids are structured

            item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.fixture(scope="session")
def bake(cookies_session):
    """bake(variant) -> harness.Bake, baked on first use and cached for the session."""
    cache = {}

    def bake_variant(variant):
        key = harness.variant_id(variant)
        if key not in cache:
            result = cookies_session.bake(extra_context=variant, template=str(harness.TEMPLATE_DIR))
            if result.exception is not None:
                # Cached too: the other checks of this variant fail at once, not after
                # baking again.
                cache[key] = f"baking {key} failed: {result.exception!r}"
            else:
                cache[key] = harness.Bake.snapshot(variant, result.context, result.project_path)
        if isinstance(cache[key], str):
            pytest.fail(cache[key], pytrace=False)
        return cache[key]

    return bake_variant


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    databases = harness.Databases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.drop_all()
