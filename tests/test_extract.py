"""Extraction of reward code from the shapes LLM answers really take."""

import json
from pathlib import Path

from reward_coder.extract import extract_reward_code
from reward_coder.types import ExtractedCode, ExtractionError

MAIN = '''import numpy as np

def compute_reward(state, action, next_state):
    speed = next_state.forward_velocity  # m/s
    return speed, {"speed": speed}
'''


def test_single_block_with_prose_is_kept_verbatim():
    text = f"I reward speed directly.\n\n```python\n{MAIN}```\n\nThis should work well."
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert result.code == MAIN
    assert "# m/s" in result.code  # comments survive
    assert result.notes == ()


def test_helpers_in_an_earlier_block_are_kept_and_usage_examples_dropped():
    text = (
        "First a helper:\n```python\ndef _clip01(x):\n    return np.clip(x, 0.0, 1.0)  # keep\n```\n"
        "Then the reward:\n```python\nimport numpy as np\n\ndef compute_reward(state, action, next_state):\n"
        "    r = _clip01(next_state.forward_velocity)\n    return r, {'r': r}\n```\n"
        "Use it like this:\n```python\nreward, terms = compute_reward(s, a, s2)\n```\n"
    )
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert result.code.index("import numpy") < result.code.index("def _clip01") < result.code.index("def compute_reward")
    assert "# keep" in result.code
    assert "reward, terms = compute_reward(s, a, s2)" not in result.code
    assert any("ignored code block 3" in n for n in result.notes)
    namespace: dict = {}
    exec(result.code, namespace)
    assert callable(namespace["compute_reward"])


def test_later_definition_supersedes_an_earlier_draft():
    text = (
        "```python\ndef compute_reward(state, action, next_state):\n    return 0, {}\n```\n"
        "Actually, better:\n```python\ndef compute_reward(state, action, next_state):\n    return 1, {}\n```"
    )
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "return 1" in result.code and "return 0" not in result.code


def test_missing_imports_are_added_and_noted():
    text = "```python\ndef compute_reward(s, a, n):\n    return np.zeros(len(a)) + math.pi, {}\n```"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert result.code.startswith("import numpy as np\nimport math\n")
    assert "added missing 'import numpy as np'" in result.notes


def test_a_local_variable_named_like_a_module_is_not_an_import():
    text = "```python\ndef compute_reward(s, a, n):\n    np = 3\n    return np, {}\n```"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "import numpy" not in result.code


def test_unfenced_code_with_trailing_prose():
    text = "Here you go:\nimport numpy as np\ndef compute_reward(s, a, n):\n    return np.ones(1), {}\nThis rewards staying alive."
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "This rewards" not in result.code
    assert "code was not fenced; took it from the prose" in result.notes


def test_top_level_statements_are_dropped_with_a_note():
    text = "```python\nimport numpy as np\nprint('hi')\ndef compute_reward(s, a, n):\n    return 0, {}\n```"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "print" not in result.code
    assert any("dropped top-level statement at line 3" in n for n in result.notes)  # line 3 of the answer


def test_errors_are_typed():
    assert extract_reward_code("").kind == "no_code"
    assert extract_reward_code("I cannot help with that.").kind == "no_code"
    no_function = extract_reward_code("```python\ndef reward(s, a, n):\n    return 0, {}\n```")
    assert isinstance(no_function, ExtractionError) and no_function.kind == "no_function"
    assert "found: reward" in no_function.message
    syntax = extract_reward_code("```python\ndef compute_reward(s, a, n)\n    return 0\n```")
    # the line of the answer, counting the fence line before the code
    assert isinstance(syntax, ExtractionError) and syntax.kind == "syntax_error" and syntax.line == 2


def test_non_python_blocks_are_skipped():
    text = "```json\n{\"a\": 1}\n```\n```python\ndef compute_reward(s, a, n):\n    return 0, {}\n```"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)


# ---- example usage, helpers and constants; lines of the answer ----------------------------------------

JOURNALS = sorted((Path(__file__).parent / "fixtures" / "realmodel").glob("*.jsonl"))


def recorded_answers() -> list[str]:
    """Every designer and repair answer of the recorded real-model journals (tests/fixtures/realmodel)."""
    answers = []
    for journal in JOURNALS:
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if entry["purpose"] in ("designer", "repair"):
                samples = entry["samples"]
                answers += samples if isinstance(samples, list) else json.loads(samples)
    return answers


def recorded_answer(*needles: str) -> str:
    return next(text for text in recorded_answers() if all(needle in text for needle in needles))


def line_of(text: str, snippet: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_recorded_example_usage_is_dropped_and_each_drop_noted_at_its_answer_line():
    text = recorded_answer("# Example usage:\nstate = np.array(", "reward, terms = compute_reward(state, action, next_state)")
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    for dropped in ("state = np.array(", "action = np.array(", "next_state = np.array(",
                    "reward, terms = compute_reward(", "print(reward)"):
        assert dropped not in result.code
    assert "def compute_reward(state, action, next_state):" in result.code and "import math" in result.code
    notes = "\n".join(result.notes)
    assert f"dropped example usage at line {line_of(text, 'state = np.array(')} (a demo value for 'state')" in notes
    assert f"at line {line_of(text, 'reward, terms = compute_reward(')} (calls compute_reward)" in notes
    assert f"dropped top-level statement at line {line_of(text, 'print(reward)')} (a call of print)" in notes


def test_recorded_main_block_is_dropped_with_a_note():
    text = recorded_answer('if __name__ == "__main__":', "env = gym.make('pendulum-v1')")
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "__main__" not in result.code and "gym.make" not in result.code and "def compute_reward" in result.code
    assert any(f"line {line_of(text, '__main__')} (a __main__ block)" in note for note in result.notes)


def test_a_fence_mentioned_in_prose_opens_no_block():
    text = recorded_answer("in one ```python block:\n\n```python\nimport numpy as np")
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert result.code.startswith("import numpy as np\n\ndef compute_reward(state, action, next_state):")


def test_every_line_of_every_recorded_extraction_maps_to_the_answer_line_it_came_from():
    checked = 0
    for text in recorded_answers():
        result = extract_reward_code(text)
        if not isinstance(result, ExtractedCode):
            continue
        answer = text.splitlines()
        code = result.code.splitlines()
        assert len(result.line_map) == len(code)
        for line, number in zip(code, result.line_map):
            if number is None:  # only what extraction wrote itself: added imports, blank separators
                assert line == "" or line.startswith("import "), line
            else:
                assert answer[number - 1] == line
        checked += 1
    assert checked >= 30


def test_helpers_and_the_constants_they_use_are_kept_and_demo_data_dropped():
    text = (
        "Here it is.\n```python\nimport numpy as np\n\nTARGET = 0.9\nSCALE = np.array([1.0, 2.0])\nUNUSED = 3\n\n"
        "def _upright(state):\n    return state.cos_theta - TARGET\n\n"
        "def compute_reward(state, action, next_state):\n    up = _upright(next_state) * SCALE[0]\n    return up, {'up': up}\n\n"
        "obs = np.zeros(4)\nscore = _upright(obs)\nprint(score)\n```\n"
    )
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    for kept in ("TARGET = 0.9", "SCALE = np.array([1.0, 2.0])", "UNUSED = 3", "def _upright(state):"):
        assert kept in result.code  # SCALE is not a constant: the static check says so, with its real reason
    assert "obs = np.zeros(4)" not in result.code and "score = " not in result.code
    notes = "\n".join(result.notes)
    assert "dropped example usage at line 16 (data no function reads): `obs = np.zeros(4)`" in notes
    assert "dropped example usage at line 17 (calls _upright)" in notes
    assert result.answer_line(result.code.splitlines().index("TARGET = 0.9") + 1) == 5


def test_a_syntax_error_names_the_line_of_the_answer():
    text = "Some prose.\n\n```python\nimport numpy as np\ndef compute_reward(s, a, n)\n    return 0, {}\n```"
    error = extract_reward_code(text)
    assert isinstance(error, ExtractionError) and error.kind == "syntax_error"
    assert error.line == 5 and "at line 5" in error.message


def test_a_fence_may_open_at_the_end_of_a_line_or_indented_in_a_list():
    inline = extract_reward_code("Here it is: ```python\ndef compute_reward(s, a, n):\n    return 0, {}\n```\n")
    assert isinstance(inline, ExtractedCode) and inline.line_map == (2, 3)
    listed = extract_reward_code("1. The code:\n   ```python\n   def compute_reward(s, a, n):\n       return 0, {}\n   ```\n")
    assert isinstance(listed, ExtractedCode) and listed.code.startswith("def compute_reward(s, a, n):\n    return 0")
    assert listed.line_map == (3, 4)


def test_what_was_dropped_reaches_the_stored_candidate():
    from reward_coder.design import Candidate, candidate_record, candidate_to_dict, evaluate_response
    from reward_coder.types import CheckReport

    text = recorded_answer("# Example usage:\nstate = np.array(", "reward, terms = compute_reward(state, action, next_state)")
    seen: list[str] = []
    attempt = evaluate_response(text, lambda code: seen.append(code) or CheckReport(ok=True))
    assert seen == [attempt.code] and "compute_reward(state, action, next_state)\n" not in attempt.code
    candidate = Candidate(id="i0-c0", iteration=0, index=0, status="ok", attempts=(attempt,))
    stored = json.loads(json.dumps(candidate_to_dict(candidate)))
    assert any("(calls compute_reward)" in note for note in stored["attempts"][0]["extract_notes"])
    assert any("(a demo value for 'state')" in note for note in candidate_record(candidate)["extract_notes"])


def test_an_unused_import_reward_code_may_not_make_is_dropped_with_a_note():
    text = ("Reward below.\n\n```python\nimport numpy as np\nimport scipy.stats\nfrom scipy.spatial.distance import cdist\n"
            "import os\n\ndef compute_reward(state, action, next_state):\n    gap = cdist(next_state.a, next_state.b)\n"
            "    return -gap[:, 0], {'gap': gap[:, 0]}\n```\n")
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
    assert "import scipy.stats" not in result.code and "import os" not in result.code
    assert "from scipy.spatial.distance import cdist" in result.code, "an allowed import stays"
    notes = [n for n in result.notes if n.startswith("dropped unused import")]
    assert [n.split(":")[0] for n in notes] == ["dropped unused import at line 5 (reward code may not import it, and "
                                                "the code never uses it)", "dropped unused import at line 7 (reward code "
                                                "may not import it, and the code never uses it)"]
    assert result.answer_line(result.code.splitlines().index("def compute_reward(state, action, next_state):") + 1) == 9


def test_a_used_import_reward_code_may_not_make_stays_and_is_refused():
    text = "```python\nimport os\n\ndef compute_reward(state, action, next_state):\n    return os.getpid(), {}\n```\n"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode) and "import os" in result.code and not result.notes
