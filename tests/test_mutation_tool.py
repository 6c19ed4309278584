"""tools/mutation.py: the string operator, the operator set, and tools/mutation.toml kept in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from cosmic_ray.mutating import mutate_code

from tools.mutation import StringLiteral, equivalents, load_config, mutants_of, operator_names

ROOT = Path(__file__).resolve().parent.parent
CONFIG = load_config()


def test_string_literal_operator_misspells_each_literal_and_leaves_docstrings() -> None:
    code = 'def f():\n    """Why."""\n    return {"Effect": "Allow"}\n'
    assert mutate_code(code, StringLiteral(), 0) == 'def f():\n    """Why."""\n    return {"XXEffectXX": "Allow"}\n'
    assert mutate_code(code, StringLiteral(), 1) == 'def f():\n    """Why."""\n    return {"Effect": "XXAllowXX"}\n'
    assert mutate_code(code, StringLiteral(), 2) is None


def test_operators_cover_negations_and_strings_but_not_arithmetic() -> None:
    names = set(operator_names())
    assert {"core/ReplaceComparisonOperator_Eq_NotEq", "core/ReplaceAndWithOr", "core/AddNot",
            "core/ReplaceUnaryOperator_Delete_Not", "platform/StringLiteral"} <= names
    assert not {n for n in names if "BinaryOperator" in n or "Variable" in n}


@pytest.mark.parametrize("module", sorted(CONFIG["modules"]))
def test_every_module_its_tests_and_its_equivalents_exist(module: str) -> None:
    assert (ROOT / module).is_file()
    for test in CONFIG["modules"][module]["tests"]:
        assert (ROOT / test.split("::")[0]).is_file(), test
    mutants = {(m.operator, m.source, nth) for m in mutants_of(module) for nth in (m.nth, None)}
    stale = [key for key in equivalents(CONFIG, module) if key not in mutants]
    assert stale == [], f"equivalent mutants in tools/mutation.toml that {module} no longer has: {stale}"
