"""`--algo` and `--hyperparams`: a small syntax, parsed safely, merged over the card's settings."""

import pytest

from reward_coder.config import RunConfig
from reward_coder.errors import ConfigError
from reward_coder.hyperparams import (
    describe_hyperparameters,
    merge_hyperparameters,
    parse_algorithm,
    parse_hyperparameters,
    train_settings,
)


def test_the_documented_examples_parse():
    assert parse_hyperparameters("learning_rate=1e-4,batch_size=256,policy_kwargs.net_arch=[64,64]") == {
        "learning_rate": 1e-4, "batch_size": 256, "policy_kwargs": {"net_arch": [64, 64]}}
    assert parse_hyperparameters("policy_kwargs.net_arch={'pi':[64],'vf':[32, 32]}, use_sde=True,"
                                 "train_freq=(1,'step'),policy_kwargs.activation_fn=tanh,target_kl=None") == {
        "policy_kwargs": {"net_arch": {"pi": [64], "vf": [32, 32]}, "activation_fn": "tanh"},
        "use_sde": True, "train_freq": (1, "step"), "target_kl": None}
    assert parse_hyperparameters("") == {} and parse_hyperparameters(None) == {}


@pytest.mark.parametrize("text, expected", [
    ("learning_rate", "not key=value"),
    ("=3", "not key=value"),
    ("batch_size=[64", "unbalanced brackets"),
    ("gamma=0.9,gamma=0.8", "given twice"),
    ("net_arch.pi=[64]", "only dict arguments named *_kwargs"),
    ("learning_rate=__import__('os').system('true')", "not a Python literal"),
    ("policy_kwargs=5,policy_kwargs.net_arch=[1]", "both whole and as"),
    ("a.b.c=1", "not a name or name.key"),
    ("gamma=", "has no value"),
])
def test_a_malformed_pair_is_one_line_saying_how_to_write_it(text, expected):
    with pytest.raises(ConfigError) as caught:
        parse_hyperparameters(text)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_algorithms_are_named_in_any_case_and_a_typo_gets_a_suggestion():
    assert parse_algorithm("sac") == "SAC" and parse_algorithm(None) is None
    with pytest.raises(ConfigError, match="did you mean PPO"):
        parse_algorithm("PP0")


def test_overrides_merge_over_the_cards_settings_and_another_algorithm_drops_them():
    card = {"n_steps": 1024, "gamma": 0.9, "policy_kwargs": {"net_arch": [64], "activation_fn": "tanh"}}
    algorithm, merged = train_settings("PPO", card, None, {"gamma": 0.98, "policy_kwargs": {"net_arch": [32]}})
    assert algorithm == "PPO"
    assert merged == {"n_steps": 1024, "gamma": 0.98, "policy_kwargs": {"net_arch": [32], "activation_fn": "tanh"}}
    assert card["policy_kwargs"] == {"net_arch": [64], "activation_fn": "tanh"}  # the card's dict is untouched
    assert train_settings("PPO", card, "ppo", {}) == ("PPO", card)
    assert train_settings("PPO", card, "SAC", {"learning_starts": 100}) == ("SAC", {"learning_starts": 100})
    assert merge_hyperparameters({"a": 1}, {"a": 2, "b": 3}) == {"a": 2, "b": 3}
    assert describe_hyperparameters(merged).startswith("n_steps=1024,gamma=0.98,policy_kwargs.net_arch=[32]")


def test_the_run_config_records_the_knobs_and_old_configs_still_read():
    config = RunConfig(instruction="x", env="pendulum", algorithm="SAC",
                       hyperparameters={"policy_kwargs": {"net_arch": [64, 64]}})
    again = RunConfig.from_dict(config.to_dict())
    assert again.algorithm == "SAC" and again.hyperparameters == {"policy_kwargs": {"net_arch": [64, 64]}}
    old = {k: v for k, v in config.to_dict().items() if k not in ("algorithm", "hyperparameters")}
    assert RunConfig.from_dict(old).algorithm is None and RunConfig.from_dict(old).hyperparameters == {}


def test_an_algorithm_is_matched_to_the_cards_kind_of_action():
    from reward_coder.hyperparams import action_space_problem

    assert "SAC needs a continuous" in action_space_problem("sac", discrete=True)
    assert "DQN needs a Discrete" in action_space_problem("DQN", discrete=False)
    assert action_space_problem("DQN", discrete=True) is None and action_space_problem("PPO", discrete=True) is None
