"""Extraction of reward code from the shapes LLM answers really take."""

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
    assert any("dropped top-level statement at line 2" in n for n in result.notes)


def test_errors_are_typed():
    assert extract_reward_code("").kind == "no_code"
    assert extract_reward_code("I cannot help with that.").kind == "no_code"
    no_function = extract_reward_code("```python\ndef reward(s, a, n):\n    return 0, {}\n```")
    assert isinstance(no_function, ExtractionError) and no_function.kind == "no_function"
    assert "found: reward" in no_function.message
    syntax = extract_reward_code("```python\ndef compute_reward(s, a, n)\n    return 0\n```")
    assert isinstance(syntax, ExtractionError) and syntax.kind == "syntax_error" and syntax.line == 1


def test_non_python_blocks_are_skipped():
    text = "```json\n{\"a\": 1}\n```\n```python\ndef compute_reward(s, a, n):\n    return 0, {}\n```"
    result = extract_reward_code(text)
    assert isinstance(result, ExtractedCode)
