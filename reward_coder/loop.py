"""The loop: design -> check -> critic -> train (with pruning) -> evaluate -> analyze -> feedback -> repeat.

Orchestration only. It receives its completer, executor and store, and reports progress through an
event sink; it never prints. Each step's output is stored before the next step starts, and each step
first looks in the store for its own output, which is how `resume` skips finished work.

Run folder (runs/<run-id>/):
  config.json, task.json, env_card.txt, versions.json, state.json, llm_journal.jsonl, best.py, best.json
  iterations/<k>/prompts/*.txt            designer prompt as sent
  iterations/<k>/design.json              every candidate with every response, code and check report
  iterations/<k>/candidates/<id>.py       final code of each candidate
  iterations/<k>/critic.json              critic reviews (and revisions taken)
  iterations/<k>/training/<id>/           model.zip, curve.json, tb/ (written by the trainer)
  iterations/<k>/outcomes/<id>.rung<r>.json  training + evaluation result of each rung
  iterations/<k>/trajectories/<id>.npz    evaluation episodes (named fields, outcomes) of its last rung
  iterations/<k>/screening.json           each new candidate's screening on earlier episodes (reward_coder.screening)
  iterations/<k>/analysis.md, summary.json   analyzer text and iteration summary
  iterations/<k>/feedback.txt             human feedback given for iteration k
  finals/<iteration>-<id>/seed<s>/        the finalists retrained on fresh seeds (run_finals)
  finals/outcomes/*.json, finals/finals.json   their outcomes; which was chosen, on what, and the held-out figures

Selection (reward_coder.selection) ranks by the task metric, the card's progress measure and the
success-curve area, never by the env's own return; the figure best.json reports comes from the finals.
"""

from __future__ import annotations

import ast
import hashlib
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from reward_coder.analyze import analyze_outcome, term_table
from reward_coder.budget import BudgetedCompleter, BudgetExceeded  # noqa: F401 - part of the loop's API
from reward_coder.config import RunConfig
from reward_coder.critic import review_candidate
from reward_coder.design import (
    Candidate,
    DesignPrompt,
    candidate_from_dict,
    candidate_record,
    candidate_to_dict,
    design_candidates,
)
from reward_coder.errors import LLMError, RewardCoderError
from reward_coder.examples import example_for
from reward_coder.llm.base import Completer
from reward_coder.prompting import render
from reward_coder.reflection import guidance, series_table
from reward_coder.screening import (
    TRAJECTORY_EPISODES,
    ScreenResult,
    StoredEpisode,
    decode_episodes,
    episode_pool,
    screen_candidate,
    screen_result_from_dict,
    unpack_episodes,
)
from reward_coder.store import RunStore
from reward_coder.tasks import Task, describe_success
from reward_coder.train.executor import Executor, JobLost, outcome_of
from reward_coder.selection import describe_key, selection_key
from reward_coder.train.halving import HalvingPlan, successive_halving
from reward_coder.outcomes import TrainOutcome, outcome_from_dict, outcome_to_dict
from reward_coder.train.sb3 import TrainJob, rollout_size, train_candidate
from reward_coder.types import CompletionRequest, Message

EventSink = Callable[..., None]
HISTORY_CHAR_BUDGET = 6_000
"""About 1,500 tokens of earlier-iteration history in the designer prompt; the newest is kept first."""


@dataclass
class LoopServices:
    completer: Completer
    executor: Executor
    store: RunStore
    on_event: EventSink
    ask_feedback: Callable[[dict[str, Any]], str | None] | None = None
    """Interactive mode: called with the iteration summary; returns the user's feedback or None."""
    train: Callable[[TrainJob], TrainOutcome] = train_candidate
    """Trains one job; must be picklable for process executors. Tests swap in a fast stand-in."""


def code_fingerprint(code: str) -> str:
    """Same AST -> same fingerprint: candidates that differ only in comments or spacing train once."""
    try:
        normalized = ast.dump(ast.parse(code))
    except SyntaxError:
        normalized = code
    return hashlib.sha256(normalized.encode()).hexdigest()[:16]


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("reward-coder", "numpy", "torch", "stable-baselines3", "gymnasium", "mujoco", "litellm"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


# ------------------------------------------------------------------------------------------------
# Run setup
# ------------------------------------------------------------------------------------------------


def start_run(config: RunConfig, task: Task, store: RunStore, completer: Completer | None = None,
              on_event: EventSink | None = None) -> Task:
    """Write what describes the run; for a free-text task without a metric, settle the metric first."""
    from reward_coder.envs import describe_card

    emit = on_event or (lambda *_a, **_k: None)
    store.write_json("config.json", config)
    store.write_json("versions.json", versions())
    store.write_text("env_card.txt", describe_card(task.card))
    metric_source = "task" if task.named else "card default"
    if not task.named and completer is not None:
        task, metric_source = propose_success(task, completer, emit)
    store.write_json("task.json", {
        "key": task.key, "instruction": task.instruction, "env": task.card.id, "env_id": task.card.env_id,
        "success": task.success, "success_text": describe_success(task.success),
        "metric_source": metric_source, "total_timesteps": task.total_timesteps,
    })
    emit("metric", text=describe_success(task.success), source=metric_source)
    if not store.exists("state.json"):
        store.write_json("state.json", {"status": "running", "iterations_done": 0, "iterations_planned": config.iterations,
                                        "best": None, "started": time.time()})
    return task


def run_latent_mode(config: RunConfig, task: Task, services: LoopServices) -> dict[str, Any]:
    """`run --mode latent` (LaRe): its own steps live in reward_coder/latent/loop.py."""
    from reward_coder.latent.loop import run_latent

    return run_latent(config, task, services.store, services.completer, services.on_event)


def propose_success(task: Task, completer: Completer, emit: EventSink) -> tuple[Task, str]:
    """Ask the LLM for a success test of a free-text task; fall back to the card's default if it is unusable."""
    import json

    from reward_coder.envs import describe_card
    from reward_coder.success import validate_success
    from reward_coder.types import SuccessSpec

    kinds = [
        ("native_return_above", "episode return of the environment's own reward >= threshold"),
        ("field_mean_above / field_mean_below", "mean of a field over the episode vs threshold (params: field, threshold, optional index, optional from_fraction)"),
        ("field_final_above / field_final_below", "value of a field at the last step vs threshold"),
        ("survive_and_field", "episode lasts at least min_steps and a field condition holds"),
    ]
    prompt = render("success_proposal.j2", instruction=task.instruction, env_description=describe_card(task.card),
                    native_reward=task.card.native_reward or "not described", kinds=kinds)
    request = CompletionRequest(messages=(Message("user", prompt),), n=1, temperature=0.0,
                                purpose="success_proposal", task_key=task.key)
    text = completer.complete(request).samples[0]
    try:
        start, end = text.index("{"), text.rindex("}") + 1
        data = json.loads(text[start:end])
        spec = SuccessSpec(kind=data["kind"], params=dict(data.get("params", {})),
                           description=str(data.get("description", "")), written_by="llm")
        validate_success(spec, task.card.field_names(), "proposed success metric")
    except (ValueError, KeyError, TypeError, RewardCoderError) as err:
        emit("metric_rejected", reason=str(err))
        return task, f"card default (the proposed metric was unusable: {err})"
    return replace(task, success=spec), "proposed by the LLM (not written by a person)"


# ------------------------------------------------------------------------------------------------
# One iteration
# ------------------------------------------------------------------------------------------------


def _iteration_dir(iteration: int) -> str:
    return f"iterations/{iteration}"


def _history_and_feedback(store: RunStore, iteration: int) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """Compact history of iterations before the last one, full policy feedback of the last, human notes."""
    history: list[str] = []
    used = 0
    for earlier in range(iteration - 2, -1, -1):
        path = f"{_iteration_dir(earlier)}/summary.json"
        if not store.exists(path):
            continue
        line = store.read_json(path).get("history_line", "")
        if used + len(line) > HISTORY_CHAR_BUDGET:
            break
        history.insert(0, line)
        used += len(line)
    policy_feedback = ""
    previous = _iteration_dir(iteration - 1)
    if iteration > 0 and store.exists(f"{previous}/policy_feedback.txt"):
        policy_feedback = store.read_text(f"{previous}/policy_feedback.txt").strip()
    human: list[str] = []
    feedback_path = f"{_iteration_dir(iteration)}/feedback.txt"
    if store.exists(feedback_path):
        human = [line.strip() for line in store.read_text(feedback_path).splitlines() if line.strip()]
    return tuple(history), policy_feedback, tuple(human)


def _design(config: RunConfig, task: Task, services: LoopServices, checker, iteration: int) -> list[Candidate]:
    from reward_coder.envs import describe_card
    from reward_coder.generate import write_prompts

    store, folder = services.store, _iteration_dir(iteration)
    if store.exists(f"{folder}/design.json"):
        return [candidate_from_dict(c) for c in store.read_json(f"{folder}/design.json")]
    history, policy_feedback, human = _history_and_feedback(store, iteration)
    prompt = DesignPrompt(
        instruction=task.instruction, env_description=describe_card(task.card),
        success_description=describe_success(task.success), history=history,
        policy_feedback=policy_feedback, human_feedback=human,
        example=example_for(task.card) if config.few_shot else None,
    )
    # the designer is told the algorithm its rewards will train with: the run's --algo when it has one
    card = task.card if config.algorithm is None else replace(
        task.card, train=replace(task.card.train, algorithm=run_train_settings(config, task.card)[0]))
    messages, candidates = design_candidates(
        services.completer, card, prompt, checker, samples=config.samples, task_key=task.key,
        iteration=iteration, temperature=config.temperature, repair_attempts=config.repair_attempts,
        on_event=services.on_event,
    )
    write_prompts(store, f"{folder}/prompts", messages)
    store.write_json(f"{folder}/design.json", [candidate_to_dict(c) for c in candidates])
    return candidates


def _critic(config: RunConfig, task: Task, services: LoopServices, checker, iteration: int,
            candidates: list[Candidate]) -> list[Candidate]:
    from reward_coder.envs import describe_card

    store, folder = services.store, _iteration_dir(iteration)
    if not config.critic:
        return candidates
    if store.exists(f"{folder}/critic.json"):
        saved = store.read_json(f"{folder}/critic.json")
        return [candidate_from_dict(c) for c in saved["candidates"]]
    reviewed, reviews = [], []
    for candidate in candidates:
        if candidate.status != "ok":
            reviewed.append(candidate)
            continue
        updated, candidate_reviews = review_candidate(
            services.completer, candidate, checker, instruction=task.instruction,
            env_description=describe_card(task.card), success_description=describe_success(task.success),
            task_key=task.key, revisions=config.critic_revisions, on_event=services.on_event,
        )
        reviewed.append(updated)
        reviews.extend(candidate_reviews)
    store.write_json(f"{folder}/critic.json", {
        "reviews": [r.__dict__ for r in reviews],
        "candidates": [candidate_to_dict(c) for c in reviewed],
    })
    return reviewed


def run_train_settings(config: RunConfig, card: Any) -> tuple[str, dict[str, Any]]:
    """(algorithm, hyperparameters) of the run's trainings: the card's, with --algo and --hyperparams applied."""
    from reward_coder.hyperparams import train_settings

    return train_settings(card.train.algorithm, dict(card.train.hyperparameters), config.algorithm,
                          config.hyperparameters)


def candidate_job(config: RunConfig, task: Task, candidate_id: str, code: str, out_dir: Any, seed: int,
                  eval_seed: int | None = None) -> TrainJob:
    """The training job of one reward: the card's algorithm, settings and normalization, the run's budget,
    with the run's --algo and --hyperparams applied over the card's (reward_coder.hyperparams.train_settings)."""
    card = task.card
    budget = config.total_timesteps or task.total_timesteps
    algorithm, hyperparameters = run_train_settings(config, card)
    return TrainJob(
        candidate_id=candidate_id, card=card, success=task.success, out_dir=str(out_dir), reward_kind="code",
        code=code, algorithm=algorithm, total_timesteps=budget, n_envs=card.train.n_envs, seed=seed,
        device=config.device, hyperparameters=hyperparameters,
        eval_episodes=config.eval_episodes or card.train.eval_episodes,
        eval_every=max(rollout_size(algorithm, card.train.n_envs, hyperparameters), budget // 5),
        max_episode_steps=card.train.max_episode_steps, allow_unsandboxed=config.allow_unsandboxed,
        normalize_obs=card.train.normalize_obs, normalize_reward=card.train.normalize_reward, eval_seed=eval_seed,
        gpu_share=config.gpus_per_job,
    )


def _train_jobs(config: RunConfig, task: Task, store: RunStore, iteration: int,
                candidates: list[Candidate]) -> tuple[list[TrainJob], dict[str, str]]:
    """One job per distinct code; `same_as` maps a duplicate candidate to the one trained for it."""
    jobs, by_fingerprint, same_as = [], {}, {}
    for candidate in candidates:
        if candidate.status != "ok" or candidate.code is None:
            continue
        fingerprint = code_fingerprint(candidate.code)
        if fingerprint in by_fingerprint:
            same_as[candidate.id] = by_fingerprint[fingerprint]
            continue
        by_fingerprint[fingerprint] = candidate.id
        jobs.append(replace(candidate_job(config, task, candidate.id, candidate.code,
                                          store.path(f"{_iteration_dir(iteration)}/training/{candidate.id}"),
                                          config.seed), trajectory_episodes=TRAJECTORY_EPISODES))
    return jobs, same_as


def _train(config: RunConfig, task: Task, services: LoopServices, iteration: int,
           candidates: list[Candidate]) -> tuple[dict[str, TrainOutcome], dict[str, int], dict[str, str]]:
    store, folder = services.store, _iteration_dir(iteration)
    jobs, same_as = _train_jobs(config, task, store, iteration, candidates)
    if not jobs:
        return {}, {}, same_as
    # each training process and its sandbox worker want a core; spin only when there are enough
    busy = min(len(jobs), services.executor.workers)
    jobs = [replace(job, spare_core=(os.cpu_count() or 1) >= 2 * busy) for job in jobs]
    first = jobs[0]
    plan = HalvingPlan.make(first.total_timesteps, len(jobs),
                            granularity=rollout_size(first.algorithm, first.n_envs, first.hyperparameters))
    services.on_event("training_started", n=len(jobs), budgets=plan.budgets, duplicates=len(same_as))

    def cached(rung: int, job: TrainJob) -> TrainOutcome | None:
        path = f"{folder}/outcomes/{job.candidate_id}.rung{rung}.json"
        return outcome_from_dict(store.read_json(path)) if store.exists(path) else None

    def on_outcome(rung: int, outcome: TrainOutcome) -> None:
        # the episodes go to an .npz of their own (the latest rung's), not into every JSON that copies eval
        packed = outcome.eval.pop("trajectories", None) if outcome.eval else None
        if packed:
            store.write_bytes(f"{folder}/trajectories/{outcome.candidate_id}.npz", decode_episodes(packed))
        store.write_json(f"{folder}/outcomes/{outcome.candidate_id}.rung{rung}.json", outcome_to_dict(outcome))
        services.on_event("training_outcome", rung=rung, candidate=outcome.candidate_id, status=outcome.status,
                          success_rate=outcome.success_rate, timesteps=outcome.timesteps, failure=outcome.failure)

    if config.shared_replay:
        from reward_coder.train.shared_replay import SharedJob, shared_replay_problem, train_shared

        problem = shared_replay_problem(jobs)
        if problem is None:
            # one executor task trains all K from one buffer, to the full budget (no halving rungs)
            stored = {job.candidate_id: cached(0, job) for job in jobs}
            if all(stored.values()):
                return dict(stored), {}, same_as
            parent = os.path.commonpath([job.out_dir for job in jobs])
            for _index, shared in services.executor.map_unordered(train_shared, [SharedJob(tuple(jobs), parent)]):
                if isinstance(shared, JobLost):  # the node of the one shared task was lost: every learner crashed
                    shared = [shared.as_outcome(job) for job in jobs]
                for outcome in shared:
                    on_outcome(0, outcome)
                    stored[outcome.candidate_id] = outcome
            return {cid: o for cid, o in stored.items() if o is not None}, {}, same_as
        services.on_event("shared_replay_skipped", reason=problem)

    outcomes, pruned_at = successive_halving(
        jobs, services.executor, plan, task.success, train=services.train, on_outcome=on_outcome, cached=cached,
        on_pruned=lambda rung, cid: services.on_event("training_pruned", candidate=cid, rung=rung),
    )
    return outcomes, pruned_at, same_as


def stored_episodes(store: RunStore, before: int) -> list[StoredEpisode]:
    """Evaluation episodes of iterations before `before`, oldest first, with their task outcomes."""
    episodes: list[StoredEpisode] = []
    for earlier in range(before):
        folder = f"{_iteration_dir(earlier)}/trajectories"
        if not store.exists(folder):
            continue
        for path in sorted(store.path(folder).glob("*.npz")):
            try:
                episodes += unpack_episodes(path.read_bytes(), source=f"iteration {earlier}, {path.stem}")
            except (OSError, ValueError, KeyError):  # a damaged file costs its episodes, not the run
                continue
    return episodes


def _screen(config: RunConfig, task: Task, services: LoopServices, iteration: int,
            candidates: list[Candidate]) -> dict[str, ScreenResult]:
    """Score each checked candidate on earlier iterations' episodes in the sandbox (stored, so resume reuses it)."""
    from reward_coder.errors import RewardCoderError
    from reward_coder.sandbox import require_isolation

    store, path = services.store, f"{_iteration_dir(iteration)}/screening.json"
    if store.exists(path):
        return {cid: screen_result_from_dict(r) for cid, r in store.read_json(path)["results"].items()}
    pool = episode_pool(stored_episodes(store, iteration))
    checked = [c for c in candidates if c.status == "ok" and c.code is not None]
    if not pool or not checked:
        return {}
    try:
        isolation = require_isolation(config.allow_unsandboxed)
    except RewardCoderError as err:
        services.on_event("screening_skipped", reason=str(err))
        return {}
    results: dict[str, ScreenResult] = {}
    for candidate in checked:
        try:
            result = screen_candidate(candidate.id, candidate.code or "", pool, task.card.field_names(),
                                      threshold=config.screen_threshold, isolation=isolation)
        except (ValueError, OSError) as err:  # stored episodes this version cannot send: judge nothing, train it
            result = ScreenResult(candidate.id, "undecided", f"undecided: the stored episodes could not be scored "
                                  f"({err}), so it is trained")
        results[candidate.id] = result
        services.on_event("screening", candidate=candidate.id, verdict=result.verdict, auc=result.auc,
                          reason=result.reason, sandbox_s=result.sandbox_s, episodes=result.episodes_scored,
                          trained=not (result.screened_out and config.screen))
    store.write_json(path, {"screen": config.screen, "threshold": config.screen_threshold, "episodes": len(pool),
                            "results": {cid: r.to_dict() for cid, r in results.items()}})
    return results


def screened_out(config: RunConfig, screening: dict[str, ScreenResult]) -> set[str]:
    """Candidates screening keeps from training (none with --no-screen)."""
    return {cid for cid, r in screening.items() if r.screened_out} if config.screen else set()


def _critic_notes(store: RunStore, iteration: int) -> dict[str, list[str]]:
    """The critic's notes per candidate (all rounds), each labelled 'critic (round N): ...'.

    Rounds count from 1 in the order the critic reviewed; a round whose revision was taken reviewed code
    that the next round replaced, so its label says so. Reviews stored without a round read as round 1.
    """
    path = f"{_iteration_dir(iteration)}/critic.json"
    notes: dict[str, list[str]] = {}
    if store.exists(path):
        for review in store.read_json(path)["reviews"]:
            revised = ", before its revision was taken" if review.get("revision_status") == "taken" else ""
            label = f"critic (round {int(review.get('round', 0)) + 1}{revised})"
            notes.setdefault(review["candidate_id"], []).extend(f"{label}: {note}" for note in review["notes"])
    return notes


def untrained_stage(candidate: Candidate, outcome: TrainOutcome | None, screening: ScreenResult | None = None) -> str:
    """Where a candidate that did not train stopped, in words ('' for one that trained)."""
    if candidate.status == "extract_failed":
        return "no usable code in the answer"
    if candidate.status != "ok":
        return "failed the checks on real states"
    if outcome is None:
        return "screened out before training" if screening is not None and screening.screened_out else "not trained"
    return {"ok": "", "reward_failed": "the reward failed during training"}.get(outcome.status, "training crashed")


def untrained_reason(candidate: Candidate, outcome: TrainOutcome | None, analysis: str = "",
                     screening: ScreenResult | None = None) -> str:
    """The error that kept a candidate from training, as the designer and the final table show it."""
    if candidate.status != "ok":
        return candidate.failure_summary() or "the checks gave no message"
    if outcome is None:
        return screening.reason if screening is not None and screening.screened_out else "not trained"
    return analysis or outcome.failure or outcome.status


def not_trained_because(candidate: Candidate, outcome: TrainOutcome | None, analysis: str = "",
                        screening: ScreenResult | None = None) -> str:
    """'stage: error' for a candidate that did not train ('' for one that did): the final table's reason."""
    if outcome is not None and outcome.status == "ok":
        return ""
    return (f"{untrained_stage(candidate, outcome, screening)}: "
            f"{untrained_reason(candidate, outcome, analysis, screening)}")


def _analysis_md(candidates: list[Candidate], outcomes: dict[str, TrainOutcome], analyses: dict[str, str],
                 llm_analysis: bool, screening: dict[str, ScreenResult] | None = None) -> str:
    """analysis.md: the facts of each trained candidate; when nothing trained, what stopped each one and
    why there is no analysis (never an empty file)."""
    if any(outcome.status == "ok" for outcome in outcomes.values()):
        return "\n".join(f"- **{cid}**: {text}" for cid, text in sorted(analyses.items())) + "\n"
    asked = " and the analyzer LLM was not asked (--llm-analysis)" if llm_analysis else ""
    lines = [f"No candidate was trained in this iteration, so there is no policy to analyse{asked}."]
    lines += [f"- **{c.id}**: {not_trained_because(c, outcomes.get(c.id), analyses.get(c.id, ''), (screening or {}).get(c.id))}"
              for c in candidates]
    return "\n".join(lines) + "\n"


def _policy_feedback(config: RunConfig, task: Task, candidates: list[Candidate], outcomes: dict[str, TrainOutcome],
                     analyses: dict[str, str], best_id: str | None, best_code: str | None,
                     critic_notes: dict[str, list[str]], screening: dict[str, ScreenResult] | None = None) -> str:
    """What the next designer sees of every candidate: failures, check warnings, critic notes, screening, results.

    When no candidate trained there is no policy to analyse: the feedback then says so and asks for a fix of
    the stated errors (feedback_untrained.j2) instead of a term-by-term analysis of policies.
    """
    screens = screening or {}
    if not any(outcome.status == "ok" for outcome in outcomes.values()):
        return render(
            "feedback_untrained.j2", best_code=(best_code or "").rstrip(),
            candidates=[dict(name=c.id, stage=untrained_stage(c, outcomes.get(c.id), screens.get(c.id)),
                             failure=untrained_reason(c, outcomes.get(c.id), analyses.get(c.id, ""), screens.get(c.id)),
                             check_warnings=[i.describe() for i in c.check.warnings] if c.check else [],
                             critic_notes=critic_notes.get(c.id, []))
                        for c in candidates],
        )
    rows = []
    for candidate in candidates:
        outcome = outcomes.get(candidate.id)
        failed = candidate.status != "ok" or outcome is None or outcome.status != "ok"
        screen = screens.get(candidate.id)
        failure = candidate.failure_summary() if candidate.status != "ok" else (
            analyses.get(candidate.id, "") if outcome is not None else
            untrained_stage(candidate, None, screen) + ": " + untrained_reason(candidate, None, "", screen))
        evaluation = outcome.eval if outcome is not None and outcome.eval else {}
        rows.append(dict(
            name=candidate.id, is_best=candidate.id == best_id, failed=failed, failure=failure,
            success_rate=f"{evaluation.get('success_rate', 0.0):.2f}",
            episode_length=f"{evaluation.get('length_mean', 0.0):.0f}",
            metric=f"{evaluation.get('metric_mean', float('nan')):.3g}",
            term_table=term_table(evaluation.get("term_stats", {})),
            trained_steps=outcome.timesteps if outcome is not None else 0,
            series=series_table(outcome) if outcome is not None and not failed else "",
            guidance=guidance(outcome) if outcome is not None and not failed else [],
            analysis=analyses.get(candidate.id, ""),
            check_warnings=[issue.describe() for issue in candidate.check.warnings] if candidate.check else [],
            critic_notes=critic_notes.get(candidate.id, []),
            # trained although screening would have kept it back (--no-screen): the designer hears the verdict
            screening=screen.reason if screen is not None and screen.screened_out and outcome is not None else "",
        ))
    return render(
        "feedback_policy.j2", algorithm=run_train_settings(config, task.card)[0],
        timesteps=config.total_timesteps or task.total_timesteps,
        eval_episodes=config.eval_episodes or task.card.train.eval_episodes,
        success_description=describe_success(task.success), candidates=rows,
        best_code=(best_code or "").rstrip(),
    )


def _llm_analyses(task: Task, services: LoopServices, iteration: int, outcomes: dict[str, TrainOutcome],
                  analyses: dict[str, str]) -> dict[str, str]:
    """Append the analyzer prompt's diagnosis to each trained candidate's measured facts (stored, so resume reuses it)."""
    store, path = services.store, f"{_iteration_dir(iteration)}/analysis_llm.json"
    diagnoses: dict[str, str] = store.read_json(path) if store.exists(path) else {}
    for cid, outcome in sorted(outcomes.items()):
        if cid in diagnoses or outcome.status != "ok":
            continue
        prompt = render("analyzer.j2", max_sentences=3, succeeded=outcome.success_rate >= 0.5,
                        instruction=task.instruction, candidate_id=cid, facts=analyses[cid])
        request = CompletionRequest(messages=(Message("user", prompt),), n=1, temperature=0.2, purpose="analyzer",
                                    task_key=task.key, iteration=iteration, label=cid)
        services.on_event("llm_request", purpose="analyzer", n=1)
        diagnoses[cid] = services.completer.complete(request).samples[0].strip()
        store.write_json(path, diagnoses)
    return {cid: text + (f" Diagnosis: {diagnoses[cid]}" if cid in diagnoses else "") for cid, text in analyses.items()}


def run_iteration(config: RunConfig, task: Task, services: LoopServices, checker, iteration: int) -> dict[str, Any]:
    """Do (or finish) one iteration and return its summary."""
    store, folder, emit = services.store, _iteration_dir(iteration), services.on_event
    if store.exists(f"{folder}/summary.json"):
        return store.read_json(f"{folder}/summary.json")
    emit("iteration_start", iteration=iteration)
    candidates = _design(config, task, services, checker, iteration)
    candidates = _critic(config, task, services, checker, iteration, candidates)
    for candidate in candidates:
        if candidate.code is not None:
            store.write_text(f"{folder}/candidates/{candidate.id}.py", candidate.code)
    screening = _screen(config, task, services, iteration, candidates)
    skipped = screened_out(config, screening)
    outcomes, pruned_at, same_as = _train(config, task, services, iteration,
                                          [c for c in candidates if c.id not in skipped])
    for duplicate, original in same_as.items():
        if original in outcomes:
            outcomes[duplicate] = outcomes[original]

    analyses = {
        cid: analyze_outcome(outcome, task.card, task.success, pruned_at.get(cid))
        + (f" (same code as {same_as[cid]}, trained once)" if cid in same_as else "")
        for cid, outcome in outcomes.items()
    }
    nothing_trained = not any(outcome.status == "ok" for outcome in outcomes.values())
    if config.llm_analysis and not nothing_trained:
        analyses = _llm_analyses(task, services, iteration, outcomes, analyses)
    ranked = sorted(outcomes.items(), key=lambda item: selection_key(item[1], task.success), reverse=True)
    ranked = [(cid, o) for cid, o in ranked if o.status == "ok" and cid not in pruned_at]
    best_id = ranked[0][0] if ranked else None
    code_of = {c.id: c.code for c in candidates}

    state = store.read_json("state.json")
    board = [entry for entry in state.get("leaderboard", []) if entry["iteration"] != iteration]
    board += [{"iteration": iteration, "candidate": cid, "score": list(selection_key(o, task.success)),
               "fingerprint": code_fingerprint(code_of.get(cid) or "")} for cid, o in ranked if cid not in same_as]
    state["leaderboard"] = board
    previous_best = state.get("best")
    improved = False
    if best_id is not None:
        best_outcome = outcomes[best_id]
        candidate_score = list(selection_key(best_outcome, task.success))
        if previous_best is None or candidate_score > previous_best["score"]:
            improved = True
            state["best"] = {
                "candidate": best_id, "iteration": iteration, "score": candidate_score,
                "success_rate": best_outcome.success_rate, "eval": {k: v for k, v in (best_outcome.eval or {}).items() if k != "episodes"},
            }
            store.write_text("best.py", code_of[best_id] or "")
            store.write_json("best.json", state["best"])
    overall_best = state.get("best")
    best_code = store.read_text("best.py") if store.exists("best.py") else None

    store.write_text(f"{folder}/analysis.md", _analysis_md(candidates, outcomes, analyses, config.llm_analysis,
                                                           screening))
    feedback = _policy_feedback(config, task, candidates, outcomes, analyses,
                                overall_best["candidate"] if overall_best else None, best_code,
                                _critic_notes(store, iteration), screening)
    store.write_text(f"{folder}/policy_feedback.txt", feedback)

    tried = ", ".join(
        f"{c.id} {'failed: ' + c.failure_summary()[:80] if c.status != 'ok' else f'success {outcomes[c.id].success_rate:.2f}' if c.id in outcomes else 'screened out (' + screening[c.id].reason[:80] + ')' if c.id in skipped else 'not trained'}"
        for c in candidates
    )
    summary = {
        "iteration": iteration,
        "best_candidate": best_id,
        "best_success_rate": outcomes[best_id].success_rate if best_id else None,
        "improved_overall_best": improved,
        "overall_best": overall_best,
        "trained": not nothing_trained,
        "screened_out": sorted(skipped),
        "analyzer": "off" if not config.llm_analysis else "not asked: no candidate trained" if nothing_trained else "asked",
        "candidates": [
            {**candidate_record(c), "training": outcomes[c.id].status if c.id in outcomes else None,
             "success_rate": outcomes[c.id].success_rate if c.id in outcomes else None,
             "pruned_at_rung": pruned_at.get(c.id), "same_as": same_as.get(c.id),
             "analysis": analyses.get(c.id, ""),
             "screening": ({k: screening[c.id].to_dict()[k] for k in ("verdict", "auc", "reason", "sandbox_s")}
                           | {"applied": config.screen}) if c.id in screening else None,
             "not_trained_because": not_trained_because(c, outcomes.get(c.id), analyses.get(c.id, ""),
                                                        screening.get(c.id))}
            for c in candidates
        ],
        "history_line": f"Iteration {iteration}: " + (
            f"best {best_id} with success {outcomes[best_id].success_rate:.2f}; " if best_id else "no candidate trained; ")
            + f"tried: {tried}",
    }
    store.write_json(f"{folder}/summary.json", summary)
    state["iterations_done"] = max(state.get("iterations_done", 0), iteration + 1)
    store.write_json("state.json", state)
    emit("iteration_done", iteration=iteration, summary=summary)
    return summary


def run_loop(config: RunConfig, task: Task, services: LoopServices, checker) -> dict[str, Any]:
    """Run iterations until config.iterations are done; stop cleanly on the LLM budget."""
    store = services.store
    state = store.read_json("state.json")
    state["status"] = "running"
    state["iterations_planned"] = config.iterations
    store.write_json("state.json", state)
    try:
        for iteration in range(config.iterations):
            summary = run_iteration(config, task, services, checker, iteration)
            last = iteration == config.iterations - 1
            if services.ask_feedback is not None and not last:
                path = f"{_iteration_dir(iteration + 1)}/feedback.txt"
                if not store.exists(path):
                    note = services.ask_feedback(summary)
                    if note and note.strip():
                        store.write_text(path, note.strip() + "\n")
    except BudgetExceeded as stop:
        state = store.read_json("state.json")
        state.update(status="stopped", reason=str(stop))
        store.write_json("state.json", state)
        raise
    except (LLMError, KeyboardInterrupt) as stop:
        state = store.read_json("state.json")
        state.update(status="interrupted", reason=str(stop) or type(stop).__name__)
        store.write_json("state.json", state)
        raise
    if config.final_seeds > 0 and config.finalists > 0:
        run_finals(config, task, services)
    state = store.read_json("state.json")
    state.update(status="finished", finished=time.time())
    store.write_json("state.json", state)
    return state


# ------------------------------------------------------------------------------------------------
# Finals: the best candidates retrained on fresh seeds, reported on evaluation seeds never used to choose
# ------------------------------------------------------------------------------------------------

FINAL_SEED_OFFSET = 1_000
"""Final training seeds are config.seed + 1000 * (k + 1): never the seed the iterations trained with."""
FINAL_EVAL_SEED = 900_000
"""First env seed of the finals' held-out evaluation; selection evaluations use 10_000-30_000 + seed."""


def final_seeds(config: RunConfig) -> list[int]:
    return [config.seed + FINAL_SEED_OFFSET * (k + 1) for k in range(config.final_seeds)]


def finalists(state: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The `count` best distinct rewards of the whole run by selection score (one per code fingerprint)."""
    chosen, seen = [], set()
    for entry in sorted(state.get("leaderboard", []), key=lambda e: e["score"], reverse=True):
        if entry.get("fingerprint") in seen:
            continue
        seen.add(entry.get("fingerprint"))
        chosen.append(entry)
        if len(chosen) == count:
            break
    return chosen


def _final_job(config: RunConfig, task: Task, store: RunStore, entry: dict[str, Any], seed: int, index: int) -> TrainJob:
    name = f"{entry['iteration']}-{entry['candidate']}"
    code = store.read_text(f"{_iteration_dir(entry['iteration'])}/candidates/{entry['candidate']}.py")
    return candidate_job(config, task, f"{name}.s{seed}", code, store.path(f"finals/{name}/seed{seed}"), seed,
                         eval_seed=FINAL_EVAL_SEED + 1_000 * index)


def _choice_key(outcome: TrainOutcome, success) -> list[float]:
    """A finalist's seed judged on its last learning-curve evaluation (not on the held-out final one)."""
    if outcome.status != "ok" or not outcome.curve:
        return list(selection_key(replace(outcome, status="crashed"), success))
    last = outcome.curve[-1]
    evaluation = {"success_rate": last.success_rate, "metric_mean": last.metric, "progress_mean": last.progress}
    return list(selection_key(replace(outcome, eval=evaluation), success))


def run_finals(config: RunConfig, task: Task, services: LoopServices) -> dict[str, Any] | None:
    """Retrain the finalists on fresh seeds; choose among them on their learning-curve evaluations;
    report the chosen one's held-out evaluation with mean, std and a 95% bootstrap interval over seeds."""
    from reward_coder.stats import seed_stats

    store, emit = services.store, services.on_event
    state = store.read_json("state.json")
    entries = finalists(state, config.finalists)
    if not entries:
        return None
    seeds = final_seeds(config)
    jobs, owners = [], []
    done: dict[str, TrainOutcome] = {}
    for entry in entries:
        for index, seed in enumerate(seeds):
            job = _final_job(config, task, store, entry, seed, index)
            path = f"finals/outcomes/{job.candidate_id}.json"
            if store.exists(path):
                done[job.candidate_id] = outcome_from_dict(store.read_json(path))
            else:
                jobs.append(job)
            owners.append((entry, job.candidate_id))
    emit("finals_started", finalists=[f"{e['iteration']}-{e['candidate']}" for e in entries], seeds=seeds,
         n=len(jobs))
    for index, value in services.executor.map_unordered(services.train, jobs):
        outcome = outcome_of(jobs[index], value)
        store.write_json(f"finals/outcomes/{outcome.candidate_id}.json", outcome_to_dict(outcome))
        done[outcome.candidate_id] = outcome
        emit("final_outcome", candidate=outcome.candidate_id, status=outcome.status,
             success_rate=outcome.success_rate, timesteps=outcome.timesteps, failure=outcome.failure)

    results = []
    for entry in entries:
        name = f"{entry['iteration']}-{entry['candidate']}"
        runs = [done[cid] for owner, cid in owners if owner is entry]
        ok = [o for o in runs if o.status == "ok"]
        choice = [sum(values) / len(values) for values in zip(*(_choice_key(o, task.success) for o in runs))]
        held_out = {
            "success_rate": seed_stats([o.success_rate for o in ok]).to_dict(),
            "metric": seed_stats([float(o.eval["metric_mean"]) for o in ok]).to_dict(),
            "native_return": seed_stats([float(o.eval["native_return_mean"]) for o in ok]).to_dict(),
        }
        results.append({
            "finalist": name, "iteration": entry["iteration"], "candidate": entry["candidate"],
            "selection_score": entry["score"], "choice_score": choice,
            "seeds": [o.seed for o in runs], "ok_seeds": len(ok),
            "failed": {o.candidate_id: f"{o.status}: {o.failure}" for o in runs if o.status != "ok"},
            "episodes_per_seed": config.eval_episodes or task.card.train.eval_episodes,
            "eval_seeds": [o.eval_seed for o in ok], "held_out": held_out,
        })
    results.sort(key=lambda r: (r["ok_seeds"] > 0, r["choice_score"]), reverse=True)
    chosen = results[0]
    final = {
        "chosen": chosen["finalist"], "finalists": results, "timesteps": config.total_timesteps or task.total_timesteps,
        "how": "each finalist retrained on fresh seeds; chosen by its learning-curve evaluations (env seeds "
               "10000 + seed); reported on a held-out final evaluation (env seeds from 900000) never used to choose",
    }
    store.write_json("finals/finals.json", final)
    state = store.read_json("state.json")
    best = dict(state.get("best") or {})
    best.update({
        "candidate": chosen["candidate"], "iteration": chosen["iteration"], "score": chosen["selection_score"],
        "selection": describe_key(chosen["selection_score"]),
        "final": {k: chosen[k] for k in ("seeds", "ok_seeds", "failed", "episodes_per_seed", "eval_seeds", "held_out")},
    })
    stats = chosen["held_out"]["success_rate"]
    if stats["mean"] is not None:
        best["success_rate"] = stats["mean"]
    state["best"] = best
    store.write_text("best.py", store.read_text(f"{_iteration_dir(chosen['iteration'])}/candidates/{chosen['candidate']}.py"))
    store.write_json("best.json", best)
    store.write_json("state.json", state)
    emit("finals_done", chosen=chosen["finalist"], held_out=chosen["held_out"]["success_rate"],
         episodes=chosen["episodes_per_seed"])
    return final
