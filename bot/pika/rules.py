"""A broken rule, as pydantic reports it: a key of the wording catalogue, the numbers that
fill it, and its English.

The request models raise `broken(key, english, **params)`, and so do the settings documents
built on their bounds (a server's settings, a member's defaults); pydantic keeps the key as the
error's type and the params as its context, so that whoever reads the error can say the rule in
the reader's language (`rule_of`), while Pika's own answers (the local Pika) and the logs keep
the English. pydantic's own errors (a missing field, a number out of a `Field`'s range, a value
not among a `Literal`'s) map to keys of the same catalogue, with their numbers.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

# The context entry of a rule that a model checks as a whole: the field it names (a dotted path
# inside the model), since pydantic places such an error on the model, not on a field.
FIELD = "field"

# pydantic's own error types: the rule's key and its English.
_PYDANTIC_RULES: dict[str, tuple[str, str]] = {
    "missing": ("rule.required", "is required"),
    "extra_forbidden": ("rule.not_accepted", "is not accepted by this request"),
    "int_parsing": ("rule.type_whole", "must be a whole number"),
    "int_type": ("rule.type_whole", "must be a whole number"),
    "int_from_float": ("rule.type_whole", "must be a whole number"),
    "float_parsing": ("rule.type_number", "must be a number"),
    "float_type": ("rule.type_number", "must be a number"),
    "bool_parsing": ("rule.type_bool", "must be true or false"),
    "bool_type": ("rule.type_bool", "must be true or false"),
    "string_type": ("rule.type_text", "must be text"),
    "list_type": ("rule.type_list", "must be a list"),
    "model_type": ("rule.type_object", "must be an object"),
    "model_attributes_type": ("rule.type_object", "must be an object"),
    "dict_type": ("rule.type_object", "must be an object"),
}


def number(value: int | float) -> int | float:
    """A number as a rule shows it: a whole one without `.0`, another to three decimals."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return round(value, 3) if isinstance(value, float) else value


def unquoted(value: str) -> str:
    """A choice as pydantic quotes it (`'1.0'`), without its quotes."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value


def broken(key: str, english: str, **params: Any) -> PydanticCustomError:
    """The error for a broken rule: `key` names it in the catalogue (`rule.*`), `english` is a
    template of `params` (`{name}`), the words Pika's own answers and the logs use."""
    values = {k: number(v) if isinstance(v, float) else v for k, v in params.items()}
    return PydanticCustomError(key, english, values)


def english(error: ErrorDetails) -> str:
    """The rule an error breaks, in English (without the field)."""
    kind = error["type"]
    if kind == "literal_error":
        return f"must be one of {error.get('ctx', {}).get('expected', '')}"
    if kind in _PYDANTIC_RULES:
        return _PYDANTIC_RULES[kind][1]
    return str(error["msg"]).removeprefix("Value error, ")


def rule_of(error: ErrorDetails) -> tuple[str, dict[str, Any]]:
    """The catalogue key of the rule an error breaks, and what fills it; a rule the catalogue
    does not know is `rule.vendor`, its English as it is."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    given = error.get("input")
    if kind.startswith("rule."):
        ctx.pop(FIELD, None)
        return kind, ctx
    if kind in _PYDANTIC_RULES:
        return _PYDANTIC_RULES[kind][0], {}
    if kind == "literal_error":
        # pydantic lists them as "'a', 'b' or 'c'": an English "or" in every language. The
        # values go on as a list, which the wording says in the reader's language.
        shown = re.split(r", | or ", str(ctx.get("expected", "")))
        return "rule.choice", {"choices": [unquoted(value) for value in shown]}
    if kind == "greater_than_equal":
        return "rule.at_least", {"low": ctx.get("ge")}
    if kind == "less_than_equal":
        return "rule.at_most", {"high": ctx.get("le")}
    if kind == "string_too_long":
        length = len(given) if isinstance(given, str) else 0
        return "rule.text_too_long", {"high": ctx.get("max_length"), "length": length}
    if kind == "string_too_short":
        return "rule.text_too_short", {"low": ctx.get("min_length")}
    return "rule.vendor", {"text": english(error)}


def settings_problems(error: ValidationError) -> list[tuple[str, str, dict[str, Any]]]:
    """Each broken rule of a settings document (a server's, a member's defaults) as
    `(setting, key, params)`: the setting as a dotted path (`defaults.motion`)."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        key, params = rule_of(item)
        if (where, key, params) not in found:
            found.append((where, key, params))
    return found
