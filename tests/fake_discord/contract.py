"""Validate request bodies against Discord's own OpenAPI description of its HTTP API.

The description (`discord-openapi.json`, from discord/discord-api-spec) is not part of this
project; it is looked up beside the repository at `../shared/reference/`, or at the path in
DISCORD_OPENAPI. Where it is absent the check is skipped, and `Contract.available` says so.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# Discord's own OpenAPI description of its HTTP API (MIT, from discord/discord-api-spec), kept
# beside the fake so that every run, CI included, checks what the bot sends.
DEFAULT_SPEC = Path(__file__).with_name("discord-openapi.json")
SPEC_URI = "urn:discord-openapi"
VERDICTS_KEPT = 512


@dataclass(frozen=True)
class Violation:
    """One request body that real Discord would reject."""

    method: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.message}"


def spec_path() -> Path:
    """Where the OpenAPI description is expected."""
    return Path(os.environ.get("DISCORD_OPENAPI", DEFAULT_SPEC))


class Contract:
    """Finds the operation for a request and validates its JSON body against its schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        # Discord accepts snowflakes as integers as well as strings, and discord.py sends both;
        # the description only admits strings, so widen that one type.
        schemas = spec["components"]["schemas"]
        schemas["SnowflakeType"] = {
            "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]
        }
        self._spec = spec
        # The verdicts of the latest bodies checked, by method, path and body (see `check`).
        self._verdicts: OrderedDict[tuple[str, str, str], tuple[Violation, ...]] = OrderedDict()
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
            self._routes.append((pattern, template, item))
        # Literal paths first, so /users/@me/channels wins over /users/{user_id}/channels.
        self._routes.sort(key=lambda r: r[1].count("{"))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The path template and operation object for a request, if the API has one."""
        for pattern, template, item in self._routes:
            if pattern.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None

    def check(self, method: str, path: str, body: Any) -> list[Violation]:
        """Validate a JSON body (for multipart: its payload_json) against the request schema.

        The same body to the same path has the same verdict, kept for the next time: every bot
        of the suite syncs the same commands, and checking that body alone takes a second or
        two of CPU (six languages of names and descriptions, through the description's oneOfs).
        """
        key = (method, path, json.dumps(body, sort_keys=True))
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = tuple(self._check(method, path, body))
            if len(self._verdicts) > VERDICTS_KEPT:
                self._verdicts.popitem(last=False)
        else:
            self._verdicts.move_to_end(key)
        return list(verdict)

    def _check(self, method: str, path: str, body: Any) -> list[Violation]:
        found = self.operation(method, path)
        if found is None:
            return [Violation(method, path, "no such operation in Discord's API")]
        _, operation = found
        request_body = operation.get("requestBody")
        if request_body is None:
            return []
        schema = request_body["content"].get("application/json", {}).get("schema")
        if schema is None:
            return []
        validator = _validator(json.dumps(schema, sort_keys=True), self)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [Violation(method, path, _describe(e)) for e in errors]

    def wrap(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema with its references resolvable against the whole description."""
        return dict(_rebase(schema))

    @property
    def registry(self) -> Registry[Any]:
        """References of the whole description."""
        return self._registry


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                f"{SPEC_URI}{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _describe(error: jsonschema.ValidationError) -> str:
    best = jsonschema.exceptions.best_match([error, *error.context]) or error
    where = "/".join(map(str, best.absolute_path)) or "(body)"
    what = best.message if len(best.message) <= 160 else f"breaks {best.validator}"
    return f"{where}: {what} (rule: {best.validator}={str(best.validator_value)[:80]})"


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str, contract: Contract) -> jsonschema.Draft202012Validator:
    schema = contract.wrap(json.loads(schema_json))
    return jsonschema.Draft202012Validator(schema, registry=contract.registry)


@functools.lru_cache(maxsize=1)
def load_contract() -> Contract | None:
    """The contract, or None when the description is not on this machine."""
    path = spec_path()
    if not path.is_file():
        return None
    return Contract(json.loads(path.read_text()))
