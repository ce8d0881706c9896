"""Finding cards by id or gymnasium id, user card folders, and task addresses."""

from __future__ import annotations

import pytest
import yaml

from reward_coder.envs import get_card, list_cards, resolve_task
from reward_coder.errors import CardError, ConfigError, UnknownEnvError


def test_list_cards_is_sorted_and_complete() -> None:
    ids = [card.id for card in list_cards()]
    assert ids == sorted(ids)
    assert {"pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid"} <= set(ids)


@pytest.mark.parametrize(
    ("name", "card_id"),
    [
        ("halfcheetah", "halfcheetah"),
        ("HalfCheetah-v5", "halfcheetah"),
        ("halfcheetah-v5", "halfcheetah"),
        ("  Hopper ", "hopper"),
        ("Pendulum-v1", "pendulum"),
        ("MountainCarContinuous-v0", "mountaincar"),
        ("HUMANOID-V5", "humanoid"),
    ],
)
def test_get_card_by_id_or_gym_id_any_case(name: str, card_id: str) -> None:
    assert get_card(name).id == card_id


def test_unknown_env_lists_known_ids_and_the_command() -> None:
    with pytest.raises(UnknownEnvError) as caught:
        get_card("HalfCheetah-v4")
    message = str(caught.value)
    assert "HalfCheetah-v4" in message and "halfcheetah (HalfCheetah-v5)" in message
    assert "`reward-coder envs`" in message and "\n" not in message


def test_user_folder_adds_and_overrides_cards(monkeypatch, tmp_path, pendulum_card_data, write_card) -> None:
    mine = dict(pendulum_card_data, id="my-pendulum", description="My own pendulum card.")
    write_card(mine, name="mine.yaml", folder=tmp_path / "cards")
    tuned = dict(pendulum_card_data, train=dict(pendulum_card_data["train"], total_timesteps=1234))
    write_card(tuned, name="tuned.yml", folder=tmp_path / "cards")
    monkeypatch.setenv("REWARD_CODER_CARDS", f"{tmp_path / 'cards'}:")
    assert get_card("my-pendulum").description == "My own pendulum card."
    assert get_card("pendulum").train.total_timesteps == 1234
    with pytest.raises(ConfigError, match="several env cards use Pendulum-v1"):
        get_card("Pendulum-v1")


def test_user_folder_that_does_not_exist_is_a_config_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REWARD_CODER_CARDS", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="REWARD_CODER_CARDS names .* not a folder"):
        list_cards()


def test_duplicate_ids_in_user_folders_are_a_card_error(monkeypatch, tmp_path, pendulum_card_data, write_card) -> None:
    card = dict(pendulum_card_data, id="twin")
    write_card(card, name="a.yaml", folder=tmp_path / "cards")
    write_card(card, name="b.yaml", folder=tmp_path / "cards")
    monkeypatch.setenv("REWARD_CODER_CARDS", str(tmp_path / "cards"))
    with pytest.raises(CardError, match="id 'twin' is also used by"):
        list_cards()


def test_a_broken_user_card_is_reported_by_file(monkeypatch, tmp_path, write_card) -> None:
    path = write_card("id: [broken\n", name="broken.yaml", folder=tmp_path / "cards")
    monkeypatch.setenv("REWARD_CODER_CARDS", str(tmp_path / "cards"))
    with pytest.raises(CardError, match=str(path)):
        list_cards()


def test_edited_card_is_reread(monkeypatch, tmp_path, pendulum_card_data, write_card) -> None:
    folder = tmp_path / "cards"
    path = write_card(dict(pendulum_card_data, id="edited"), name="edited.yaml", folder=folder)
    monkeypatch.setenv("REWARD_CODER_CARDS", str(folder))
    before = get_card("edited").train.n_envs
    data = yaml.safe_load(path.read_text())
    data["train"]["n_envs"] = before + 2
    path.write_text(yaml.safe_dump(data))
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert get_card("edited").train.n_envs == before + 2


def test_resolve_task() -> None:
    card, task = resolve_task("halfcheetah/run-backward")
    assert card.id == "halfcheetah" and task.name == "run-backward"
    assert task.success.kind == "field_mean_below"
    card, task = resolve_task("HalfCheetah-v5/run-forward")
    assert card.id == "halfcheetah" and task.name == "run-forward"


@pytest.mark.parametrize(
    ("address", "error", "words"),
    [
        ("halfcheetah", ConfigError, "not of the form <env>/<task>"),
        ("halfcheetah/", ConfigError, "not of the form"),
        ("halfcheetah/fly", ConfigError, "halfcheetah/run-backward"),
        ("cheetah/run-forward", UnknownEnvError, "no env card for 'cheetah'"),
    ],
)
def test_resolve_task_errors(address: str, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        resolve_task(address)
