from dataclasses import fields, replace

import pytest

from helpers.config import DDPGConfig, field_docs


def test_defaults_are_valid():
    config = DDPGConfig()
    assert 0 <= config.gamma < 1 and 0 < config.tau <= 1
    assert config.batch_size <= config.buffer_size


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("gamma", 1.0, "gamma"),
        ("gamma", -0.1, "gamma"),
        ("tau", 0.0, "tau"),
        ("tau", 1.5, "tau"),
        ("batch_size", 200_000, "cannot exceed buffer_size"),
        ("batch_size", 0, "batch_size"),
        ("total_steps", 0, "total_steps"),
        ("warmup_steps", 20_000, "smaller than total_steps"),
        ("noise", "pink", "noise must be one of"),
        ("normalization", "group", "normalization must be one of"),
        ("hidden_sizes", (), "hidden_sizes"),
        ("hidden_sizes", (64, 0), "hidden_sizes"),
        ("actor_lr", 0.0, "actor_lr"),
        ("update_every", 0, "update_every"),
        ("seed", -1, "seed"),
        ("seed", 2**32, "seed"),
        ("eval_every", 1_025, "multiple of update_every"),
    ],
)
def test_bad_values_raise_one_clear_error(field, value, words):
    with pytest.raises(ValueError, match=words) as info:
        replace(DDPGConfig(), **{field: value})
    assert "\n" not in str(info.value)


def test_every_field_is_documented():
    docs = field_docs(DDPGConfig)
    assert set(docs) == {f.name for f in fields(DDPGConfig)}
    assert all(len(doc) > 10 for doc in docs.values()), docs
