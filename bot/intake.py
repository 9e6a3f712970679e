"""Member input -> validated Pika request, with every problem named after the command option.

Cogs pass option values by their option names: plain values, attachments as `Media`, typed URLs
in each media option's `_url` twin. This module pairs each media option with its twin, checks
attachments' kinds, builds the vendor body in layers (Pika's example options < the member's own
defaults < the server's defaults < a known result's options < the member's values), and
validates it with the Pika
models. Vendor field errors come back named after options: the same table maps both ways. It
imports neither Discord nor the network client, so every rule is testable with plain values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic.alias_generators import to_camel

from bot.errors import InputError, Problem
from bot.pika.errors import InvalidRequest
from bot.pika.errors import Problem as VendorProblem
from bot.pika.kinds import kind as kind_of
from bot.pika.media import (
    CONTENT_TYPES,
    EXTENSIONS,
    MediaFacts,
    MediaKind,
    check_http_url,
    extension_of,
)
from bot.pika.models import Options, PikaRequestModel
from bot.storage import Job

# The common video options, and where each sits inside the vendor's `options`.
VIDEO_OPTIONS: dict[str, str] = {
    "aspect_ratio": "aspectRatio",
    "frame_rate": "frameRate",
    "motion": "parameters.motion",
    "guidance_scale": "parameters.guidanceScale",
    "negative_prompt": "parameters.negativePrompt",
    "seed": "parameters.seed",
    "zoom": "camera.zoom",
    "pan": "camera.pan",
    "tilt": "camera.tilt",
    "rotate": "camera.rotate",
}
# Options whose vendor field is not simply the option's name in camelCase.
FIELDS: dict[str, str] = {
    "prompt": "promptText",
    "swap_prompt": "swapPrompt",
    "speech_start": "speechStart",
    "speech_end": "speechEnd",
    "effect": "pikaffect",
    "mode": "ingredientsMode",
    "x": "area.x",
    "y": "area.y",
    "width": "area.width",
    "height": "area.height",
} | {name: f"options.{path}" for name, path in VIDEO_OPTIONS.items()}
# Vendor field -> option, for naming a vendor rule after what the member typed.
OPTION_NAMES: dict[str, str] = {v: k for k, v in FIELDS.items()} | {"area": "x, y, width, height"}

# Media options (and `ingredient_<n>`), by the kind of media they take.
MEDIA_KINDS: dict[str, MediaKind] = {
    "image": MediaKind.IMAGE,
    "video": MediaKind.VIDEO,
    "speech": MediaKind.SPEECH,
    "ingredient": MediaKind.IMAGE,
}
INGREDIENT = re.compile(r"ingredient_([1-9])")
# The bot's own rules on top of Pika's: media that must be given, one of several at least.
REQUIRED_MEDIA: dict[str, tuple[str, ...]] = {"ingredients": ("ingredient_1",)}
ONE_OF_MEDIA: dict[str, tuple[str, ...]] = {"pikaffect": ("image", "video")}
# Media of which a request takes one at most: Pika makes the video from one of them, and the
# other would be paid for and ignored.
AT_MOST_ONE_MEDIA: dict[str, tuple[str, ...]] = {
    "generate": ("image", "video"),
    "pikaffect": ("image", "video"),
}
DEFAULT_SPEECH_SECONDS = 3.0  # a lip sync's span when the video's length is unknown


@dataclass(frozen=True)
class Media:
    """A media input: an attachment's URL with what Discord says of it, or a typed URL."""

    url: str
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Draft:
    """A member's request before it meets Pika's rules: option values, media paired."""

    kind: str
    values: dict[str, Any]  # option name -> value; each media option -> its URL
    media: dict[str, Media] = field(default_factory=dict)
    # The media options given by their `_url` twin, a link typed rather than a file attached.
    linked: frozenset[str] = frozenset()

    @property
    def video_url(self) -> str | None:
        """The video the request works on, if any."""
        url = self.values.get("video")
        return str(url) if url else None


def media_kind(option: str) -> MediaKind | None:
    """The kind of media an option takes, or None when it takes no media."""
    return MEDIA_KINDS.get(INGREDIENT.sub("ingredient", option))


def read(kind: str, values: Mapping[str, Any]) -> Draft:
    """Pair each media option with its `_url` twin, check attachments' kinds; drop unset values.

    Raises InputError naming every media option that is given twice, missing or of a wrong kind.
    """
    kind_of(kind)
    plain = {k: v for k, v in values.items() if v is not None and not k.endswith("_url")}
    names = {k.removesuffix("_url") for k in values if media_kind(k.removesuffix("_url"))}
    media: dict[str, Media] = {}
    linked: set[str] = set()
    problems: list[Problem] = []
    for name in sorted(names):
        try:
            found = _pick(name, values.get(name), values.get(f"{name}_url"))
        except InputError as exc:
            problems += exc.problems
            continue
        plain.pop(name, None)
        if found is not None:
            media[name] = found
            plain[name] = found.url
            if values.get(name) is None:
                linked.add(name)
    for name in REQUIRED_MEDIA.get(kind, ()):
        if name not in media and not any(p[0] == name for p in problems):
            problems.append((name, "rule.attach_or_url", {"option": name}))
    alternatives = ONE_OF_MEDIA.get(kind, ())
    if alternatives and not any(name in media for name in alternatives) and not problems:
        problems.append((alternatives[0], "rule.effect_needs_media", {}))
    given = [name for name in AT_MOST_ONE_MEDIA.get(kind, ()) if name in media]
    if len(given) > 1:
        problems.append((", ".join(given), "rule.image_or_video", {}))
    if problems:
        raise InputError(problems)
    return Draft(kind, plain, media, frozenset(linked))


def _pick(name: str, attachment: Any, url: Any) -> Media | None:
    """One of an attachment option and its `_url` twin; check the attachment's kind."""
    text = str(url).strip() if url else None
    if attachment is not None and text:
        raise InputError.rule(name, "rule.either_not_both", option=name)
    if attachment is None:
        if not text:
            return None
        try:
            check_http_url(text)
        except ValueError:
            # Named as the member gave it, `video_url`: the model's rule names the vendor
            # field, `video`, which the member left empty.
            raise InputError.rule(f"{name}_url", "rule.url_scheme") from None
        return Media(text)
    if not isinstance(attachment, Media):
        raise TypeError(f"{name}: expected Media, got {type(attachment).__name__}")
    kind = media_kind(name)
    assert kind is not None
    extension = extension_of(attachment.filename or attachment.url)
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if extension not in EXTENSIONS[kind] or (
        content_type and content_type not in CONTENT_TYPES[kind]
    ):
        filename = attachment.filename or "a file"
        raise InputError.rule(name, f"rule.media.{kind.value}", filename=filename)
    return attachment


def build(
    draft: Draft,
    *,
    parent: Job | None = None,
    server_defaults: Mapping[str, Any] | None = None,
    probed: MediaFacts | None = None,
    personal: Mapping[str, Any] | None = None,
) -> PikaRequestModel:
    """The validated request for a draft; problems are named after command options.

    `parent` is the job that made the draft's video, when it is a result of ours: commands that
    work on a video take its prompt and options as defaults. `server_defaults` are the server's
    default video options (option names); `personal` the member's own defaults (option names,
    and `model` for `/pika generate`), which the server's win over. `probed` holds the lengths
    of the media inputs, once they have been read (`bot.probe`): rules on lengths are then
    checked too.
    """
    kind = kind_of(draft.kind)
    values = dict(draft.values)
    facts = facts_for(draft, parent, probed)
    personal = personal or {}
    if _takes_model(draft, personal):
        values["model"] = personal["model"]
    inherits = parent is not None and kind.inherits
    if inherits and parent is not None and not values.get("prompt") and parent.prompt:
        values["prompt"] = parent.prompt
    if kind.takes("speech_end"):
        start = float(values.setdefault("speech_start", 0.0))
        video = facts.durations.get(str(values.get("video")))
        speech = facts.durations.get(str(values.get("speech")))
        length = video or DEFAULT_SPEECH_SECONDS
        if speech is not None and speech > start:
            length = min(length, speech - start)  # the speech's end, if it comes first
        values.setdefault("speech_end", round(start + length, 3))
    if values.get("model") == "1.0":
        del values["model"]  # the vendor's examples of model 1.0 send no model
    body: dict[str, Any] = dict(kind.fixed)
    common = {k: values.pop(k) for k in list(values) if k in VIDEO_OPTIONS}
    if kind.takes("options"):
        base = parent.request.get("options") if inherits and parent else None
        mine = {k: v for k, v in personal.items() if k in VIDEO_OPTIONS}
        body["options"] = vendor_options(common, base=base, server=server_defaults, personal=mine)
    for name, value in values.items():
        _put(body, field_of(name), value)
    # The vendor's list has no gaps: with ingredient 2 left out, its second item is ingredient 3.
    listed = [name for name in values if INGREDIENT.fullmatch(name)]
    try:
        return kind.parse(body, facts)
    except InvalidRequest as exc:
        raise InputError([_named(p, listed, draft.linked) for p in exc.problems]) from None


def field_of(option: str) -> str:
    """The vendor field (a dotted path) an option fills."""
    match = INGREDIENT.fullmatch(option)
    if match:
        return f"ingredients[{int(match[1]) - 1}]"
    return FIELDS.get(option, to_camel(option))


def option_name(field: str) -> str:
    """The option a vendor field came from."""
    if field in OPTION_NAMES:
        return OPTION_NAMES[field]
    match = re.fullmatch(r"ingredients\[(\d)\]", field)
    if match:
        return f"ingredient_{int(match[1]) + 1}"
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", field.removeprefix("options.")).lower()
    return snake


def vendor_options(
    values: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    server: Mapping[str, Any] | None = None,
    personal: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The vendor `options`, in layers: Pika's example options < the member's own defaults
    (`personal`) < the server's defaults < `base` (a known result's vendor options) < the values
    given with the request. Unset values never hide a lower layer."""
    merged: dict[str, Any] = {}
    pika = option_values(Options.default().payload())
    layers = (pika, personal or {}, server or {}, option_values(base or {}))
    for layer in (*layers, values):
        merged |= {k: v for k, v in layer.items() if v is not None}
    options: dict[str, Any] = {"camera": {}, "parameters": {}, "extend": False}
    for name, path in VIDEO_OPTIONS.items():
        _put(options, path, merged.get(name))
    return options


def personal_used(
    draft: Draft,
    personal: Mapping[str, Any],
    *,
    parent: Job | None = None,
    server_defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Which of the member's own defaults `build` put in the request: those no higher layer set
    (the values given, the server's defaults, a known result's options)."""
    kind = kind_of(draft.kind)
    if not kind.takes("options"):
        return {"model": personal["model"]} if _takes_model(draft, personal) else {}
    server = {k for k, v in (server_defaults or {}).items() if v is not None}
    inherited: set[str] = set()
    if parent is not None and kind.inherits:
        base = option_values(parent.request.get("options") or {})
        inherited = {k for k, v in base.items() if v is not None}
    used = {
        name: value
        for name, value in personal.items()
        if name in VIDEO_OPTIONS
        and draft.values.get(name) is None
        and name not in server | inherited
    }
    if _takes_model(draft, personal):
        used["model"] = personal["model"]
    return used


def _takes_model(draft: Draft, personal: Mapping[str, Any]) -> bool:
    return (
        kind_of(draft.kind).model_choice
        and draft.values.get("model") is None
        and personal.get("model") is not None
    )


def option_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """Vendor options as command option values."""
    found: dict[str, Any] = {}
    for name, path in VIDEO_OPTIONS.items():
        node: Any = options
        for part in path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        found[name] = node
    return found


def facts_for(
    draft: Draft, parent: Job | None = None, probed: MediaFacts | None = None
) -> MediaFacts:
    """What is known about the inputs: attachments' content types, a known result's length,
    and the lengths probing found."""
    types = {m.url: m.content_type for m in draft.media.values() if m.content_type}
    durations = dict(probed.durations) if probed else {}
    if parent and parent.result_url and parent.duration:
        durations[parent.result_url] = parent.duration
    return MediaFacts(content_types=types, durations=durations)


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (with `name[i]` list items) in a nested body."""
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    match = re.fullmatch(r"(\w+)\[(\d+)\]", last)
    if match:
        items = node.setdefault(match[1], [])
        items.append(value)  # list options come in order: ingredient_1, ingredient_2, ...
    else:
        node[last] = value


# The params of a vendor rule that name a field (`speechStart`): the member reads the option.
FIELD_PARAMS = ("option", "other")


def _named(
    problem: VendorProblem, ingredients: list[str], linked: frozenset[str] = frozenset()
) -> Problem:
    """A vendor problem as an option problem; a missing media input says how to give it.
    `ingredients` are the ingredient options given, in the order of the vendor's list;
    `linked` the media options given as a typed link, whose rules name the `_url` twin the
    member filled (`image_url`), not the option they left empty (`image`)."""
    item = re.fullmatch(r"ingredients\[(\d)\]", problem.field)
    if item and int(item[1]) < len(ingredients):
        option = ingredients[int(item[1])]
    else:
        option = option_name(problem.field)
    if problem.key == "rule.required" and media_kind(option):
        return (option, "rule.attach_or_url", {"option": option})
    if option in linked:
        option = f"{option}_url"
    if not problem.key or problem.key == "rule.vendor":
        return (option, "rule.vendor", {"text": _in_option_words(problem.rule)})
    params = dict(problem.params)
    for name in FIELD_PARAMS:
        if isinstance(params.get(name), str):
            params[name] = option_name(params[name])
    return (option, problem.key, params)


_VENDOR_WORDS = re.compile(
    r"\b(" + "|".join(k for k in OPTION_NAMES if re.fullmatch(r"[A-Za-z]+", k)) + r")\b"
)


def _in_option_words(rule: str) -> str:
    """A rule's text with vendor field names replaced by option names."""
    return _VENDOR_WORDS.sub(lambda m: OPTION_NAMES[m[1]], rule)
