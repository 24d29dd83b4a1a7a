"""Session fixtures: each variant is baked at most once per xdist worker, and each
postgresql variant gets a database of its own that is dropped at the end."""

import pytest

import harness


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
