"""`reward-coder bench SUITE`: jobs per task x method x seed, resume after interruption, refused rewards,
results files, and one real end-to-end bench on Meta-World reach with real (tiny) training."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from reward_coder.bench.runner import load_bench_folder, plan_jobs, run_suite
from reward_coder.bench.suite import SUITES_DIR, load_suite
from reward_coder.errors import ConfigError
from reward_coder.train.executor import InlineExecutor, LocalExecutor
from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.train.sb3 import TrainJob

pytest.importorskip("metaworld")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STANDIN = SUITES_DIR / "rewards" / "metaworld-reach.handwritten-standin.py"
FOREIGN = SUITES_DIR / "rewards" / "metaworld-reach.foreign.handwritten-standin.py"
FAKE_SUCCESS = {"expert": 0.8, "sparse": 0.2, "standin": 0.5, "theirs": 0.9}


def fake_train(job: TrainJob) -> TrainOutcome:
    """A stand-in trainer: success depends on the method (last but one part of the job id) and the seed."""
    method = job.candidate_id.split("__")[-2]
    rate = FAKE_SUCCESS[method] + 0.1 * job.seed
    curve = (CurvePoint(job.eval_every, rate / 2, 0.0, 0.0, 500.0, 1.0), CurvePoint(job.total_timesteps, rate, 0.0, 0.0, 500.0, 2.0))
    return TrainOutcome(candidate_id=job.candidate_id, status="ok", timesteps=job.total_timesteps, curve=curve,
                        eval={"success_rate": rate, "native_return_mean": 100 * rate}, wall_s=2.0)


class Interrupt(BaseException):
    """Stands for Ctrl-C in the middle of a bench."""


def interrupting_train(limit: int):
    calls = []

    def train(job: TrainJob) -> TrainOutcome:
        if len(calls) >= limit:
            raise Interrupt
        calls.append(job.candidate_id)
        return fake_train(job)

    return train, calls


def _suite_file(tmp_path: Path, **extra) -> Path:
    data = {
        "name": "unit", "algorithm": "PPO", "total_timesteps": 400, "seeds": [0, 1], "n_envs": 2,
        "eval_episodes": 1, "tasks": ["metaworld-reach/reach", "metaworld-drawer-close/drawer-close"],
        "rewards": {"standin": {"metaworld-reach/reach": str(STANDIN)}, "theirs": {"metaworld-reach/reach": str(FOREIGN)}},
        **extra,
    }
    path = tmp_path / "unit.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_jobs_cover_tasks_methods_and_seeds_with_the_same_budget(tmp_path: Path) -> None:
    suite = load_suite(_suite_file(tmp_path))
    jobs = plan_jobs(suite, tmp_path / "bench")
    # 2 seeds x (reach: expert, sparse, standin, theirs + drawer-close: expert, sparse)
    assert len(jobs) == 12 and len({j.job_id for j in jobs}) == 12
    kinds = {(j.method, j.train.reward_kind) for j in jobs}
    assert kinds == {("expert", "native"), ("sparse", "sparse"), ("standin", "code"), ("theirs", "code")}
    assert {(j.train.algorithm, j.train.total_timesteps, j.train.n_envs) for j in jobs} == {("PPO", 400, 2)}
    sparse = next(j for j in jobs if j.method == "sparse")
    assert "next_state.success" in sparse.train.code
    assert all(Path(j.train.out_dir).parent == tmp_path / "bench" / "jobs" for j in jobs)


def test_bench_resumes_after_an_interruption_and_writes_its_results(tmp_path: Path) -> None:
    suite = load_suite(_suite_file(tmp_path))
    folder = tmp_path / "bench"
    train, calls = interrupting_train(limit=5)
    with pytest.raises(Interrupt):
        run_suite(suite, folder, executor=InlineExecutor(), train_fn=train, check_rewards=False)
    assert len(calls) == 5 and len(list((folder / "outcomes").glob("*.json"))) == 5

    # resume from the bench folder alone: only the 7 missing jobs are trained
    resumed_suite = load_bench_folder(folder)
    assert resumed_suite.fingerprint() == suite.fingerprint()
    train, calls = interrupting_train(limit=100)
    run = run_suite(resumed_suite, folder, executor=InlineExecutor(), train_fn=train, check_rewards=False)
    assert (run.trained, run.skipped, len(calls)) == (7, 5, 7)

    # and once everything is done nothing is trained again
    again = run_suite(resumed_suite, folder, executor=InlineExecutor(), train_fn=fake_train, check_rewards=False)
    assert (again.trained, again.skipped) == (0, 12)

    rows = {(r["task"], r["method"]): r for r in csv.DictReader((folder / "results.csv").open())}
    reach_standin = rows[("metaworld-reach/reach", "standin")]
    # seeds 0 and 1 give 0.5 and 0.6: mean 0.55, sample std 0.0707, interval [0.5, 0.6]; expert 0.85, sparse 0.25
    assert float(reach_standin["success_mean"]) == pytest.approx(0.55)
    assert float(reach_standin["success_std"]) == pytest.approx(0.070711, abs=1e-6)
    assert float(reach_standin["success_iqm"]) == pytest.approx(0.55)
    assert (float(reach_standin["success_ci_low"]), float(reach_standin["success_ci_high"])) == (
        pytest.approx(0.5), pytest.approx(0.6))
    assert (reach_standin["seeds"], reach_standin["ok"], reach_standin["success_n"]) == ("2", "2", "2")
    assert float(reach_standin["normalized_score"]) == pytest.approx((0.55 - 0.25) / 0.6)
    assert float(rows[("metaworld-reach/reach", "theirs")]["normalized_score"]) == pytest.approx((0.95 - 0.25) / 0.6)
    assert ("metaworld-drawer-close/drawer-close", "standin") not in rows  # no reward given for that task
    results = json.loads((folder / "results.json").read_text())
    assert results["jobs_done"] == results["jobs_total"] == 12
    assert "(Eureka)" in results["score"] and results["table_markdown"].startswith("| task | expert | sparse |")
    row = next(r for r in results["rows"] if r["task"] == "metaworld-reach/reach" and r["method"] == "standin")
    assert row["success"]["n"] == 2 and row["success"]["iqm"] == pytest.approx(0.55)
    assert row["success"]["ci_low"] == pytest.approx(0.5) and row["native_return"]["mean"] == pytest.approx(55.0)
    assert (row["refused"], row["reward_failed"], row["crashed"], row["pending"]) == (0, 0, 0, 0)
    assert results["overall"]["standin"]["success_tasks"] == 1 and results["overall"]["expert"]["success_tasks"] == 2
    report = (folder / "report.html").read_text()
    assert "data:image/png;base64," in report and "metaworld-reach/reach" in report and "<script" not in report
    assert (folder / "rewards" / "metaworld-reach__reach__theirs.py").read_text().startswith("# Converted by reward-coder")


def test_crashed_jobs_are_retried_and_another_suite_cannot_reuse_the_folder(tmp_path: Path) -> None:
    suite = load_suite(_suite_file(tmp_path))
    folder = tmp_path / "bench"
    run_suite(suite, folder, executor=InlineExecutor(), train_fn=fake_train, check_rewards=False)
    outcome_file = folder / "outcomes" / "metaworld-reach__reach__expert__s1.json"
    record = json.loads(outcome_file.read_text())
    record["outcome"]["status"] = "crashed"
    outcome_file.write_text(json.dumps(record))
    run = run_suite(suite, folder, executor=InlineExecutor(), train_fn=fake_train, check_rewards=False)
    assert run.trained == 1
    other = load_suite(_suite_file(tmp_path, total_timesteps=800))
    with pytest.raises(ConfigError, match="different suite"):
        run_suite(other, folder, executor=InlineExecutor(), train_fn=fake_train, check_rewards=False)


def test_a_reward_that_fails_its_check_is_not_trained_and_is_reported_as_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef compute_reward(state, action, next_state):\n    return next_state.success, {}\n")
    path = _suite_file(tmp_path, seeds=[0], tasks=["metaworld-reach/reach"], rewards={"standin": {"metaworld-reach/reach": str(bad)}})
    suite = load_suite(path)
    trained = []

    def train(job: TrainJob) -> TrainOutcome:
        trained.append(job.candidate_id)
        return fake_train(job)

    run = run_suite(suite, tmp_path / "bench", executor=InlineExecutor(), train_fn=train, check_rewards=True)
    assert sorted(trained) == ["metaworld-reach__reach__expert__s0", "metaworld-reach__reach__sparse__s0"]
    row = run.summary.row("metaworld-reach/reach", "standin")
    # refused, not a success of 0: no mean, no normalized score, the reason in every table
    assert (row.refused, row.ok, row.success.n, row.success_mean, row.normalized_score) == (1, 0, 0, None, None)
    assert row.first_failure["refused"].startswith("check failed:") and "no-import" in row.first_failure["refused"]
    assert [r.success_rate for r in run.results if r.method == "standin"] == [None]
    folder = tmp_path / "bench"
    results = json.loads((folder / "results.json").read_text())
    assert "| refused: check failed:" in results["table_markdown"] and "n/a (mean over 0 of 1 tasks)" in results[
        "table_markdown"]
    job = next(j for j in results["jobs"] if j["method"] == "standin")
    assert (job["verdict"], job["status"], job["success_rate"]) == ("refused", "reward_failed", None)
    csv_row = next(r for r in csv.DictReader((folder / "results.csv").open()) if r["method"] == "standin")
    assert csv_row["success"].startswith("refused: check failed:") and csv_row["success_mean"] == ""
    assert "refused: check failed:" in (folder / "report.html").read_text()

    from reward_coder.cli.main import app

    printed = CliRunner().invoke(app, ["bench", str(folder)])  # resumes with nothing left to train
    assert printed.exit_code == 0, printed.output
    assert "| refused: check failed:" in printed.output
    assert "runs left out of every mean (not counted as 0): 1 refused" in printed.output
    check = json.loads((tmp_path / "bench" / "checks" / "metaworld-reach__reach__standin.json").read_text())
    assert not check["ok"] and check["issues"][0]["rule"] == "no-import"


def test_real_tiny_bench_on_reach_with_a_foreign_reward_trains_and_resumes_from_the_cli(tmp_path: Path) -> None:
    """Real PPO training (512 steps per run) of expert, sparse and a converted foreign reward, in worker
    processes, with the rewards in the sandbox; then `reward-coder bench FOLDER` resumes with nothing to do."""
    from reward_coder.cli.main import app

    path = _suite_file(
        tmp_path, total_timesteps=512, seeds=[0], tasks=["metaworld-reach/reach"], eval_every=256,
        max_episode_steps=100, hyperparameters={"n_steps": 128, "batch_size": 128, "n_epochs": 2},
        rewards={"theirs": {"metaworld-reach/reach": str(FOREIGN)}},
    )
    folder = tmp_path / "bench"
    executor = LocalExecutor(workers=2)
    try:
        run = run_suite(load_suite(path), folder, executor=executor)
    finally:
        executor.close()
    assert run.trained == 3
    for result in run.results:
        assert result.status == "ok", result.failure
        assert result.timesteps >= 512 and [t for t, _ in result.curve] == [256, 512]
        assert 0.0 <= result.success_rate <= 1.0
    assert json.loads((folder / "checks" / "metaworld-reach__reach__theirs.json").read_text())["ok"]
    curve = json.loads((folder / "jobs" / "metaworld-reach__reach__theirs__s0" / "curve.json").read_text())
    assert [p["timesteps"] for p in curve] == [256, 512]
    outcome = json.loads((folder / "outcomes" / "metaworld-reach__reach__theirs__s0.json").read_text())["outcome"]
    assert "foreign_reward" in outcome["train_term_stats"]

    result = CliRunner().invoke(app, ["bench", str(folder)])
    assert result.exit_code == 0, result.output
    assert "0 runs trained, 3 already done" in result.output and "| metaworld-reach/reach |" in result.output


def test_cli_names_what_bench_accepts(tmp_path: Path) -> None:
    from reward_coder.cli.main import app

    result = CliRunner().invoke(app, ["bench", "no-such-benchmark"])
    assert result.exit_code != 0
    assert "overhead" in result.output and "metaworld-small" in result.output
    result = CliRunner().invoke(app, ["bench", str(tmp_path / "missing.yaml")])
    assert result.exit_code != 0 and "no suite file" in result.output


def test_a_refused_foreign_reward_is_reported_at_the_line_of_its_own_file(tmp_path: Path) -> None:
    """Converted foreign code is longer than the file it came from; a refusal names the file's line."""
    foreign = tmp_path / "theirs.py"
    foreign.write_text(
        "import numpy as np\n"
        "\n"
        "def compute_dense_reward(self, action, obs) -> float:\n"
        "    distance = np.linalg.norm(self.env.tcp_center - self.env._target_pos)\n"
        "    secret = np.lib.npyio.DataSource()\n"
        "    return -distance\n"
    )
    path = _suite_file(tmp_path, seeds=[0], tasks=["metaworld-reach/reach"],
                       rewards={"theirs": {"metaworld-reach/reach": str(foreign)}})
    suite = load_suite(path)
    run_suite(suite, tmp_path / "bench", executor=InlineExecutor(), train_fn=fake_train, check_rewards=True)
    check = json.loads((tmp_path / "bench" / "checks" / "metaworld-reach__reach__theirs.json").read_text())
    assert not check["ok"]
    assert {issue["line"] for issue in check["issues"] if issue["severity"] == "error"} == {5}
