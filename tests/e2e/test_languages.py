"""Members in their own language: the synced commands carry every translation, a French
member reads every step of their jobs in French, reactions and failures included, and members
and owners read the rules their requests and settings broke in their language."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    admin,
    button,
    failures,
    notes_to,
    private_answer,
    results,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import ADMIN, GENERAL, GUILD_ID, MEMBER, REQUESTER
from tests.helpers.local_pika import behave, calls_to, pika_calls
from tests.media import mp4, png

LOCALES = {"fr", "de", "es-ES", "es-419", "ja", "pt-BR"}  # English is the default itself


def synced(fake: FakeDiscord, name: str) -> dict[str, Any]:
    return next(c for c in fake.commands[GUILD_ID] if c["name"] == name)


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A command and everything under it (subcommands, options)."""
    found = [node]
    for option in node.get("options") or []:
        found += walk(option)
    return found


async def test_the_synced_commands_carry_six_languages_and_real_descriptions(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    pika = synced(fake, "pika")
    for node in walk(pika) + walk(synced(fake, "pika-admin")) + walk(synced(fake, "pika-help")):
        assert set(node.get("name_localizations") or {}) >= LOCALES, node["name"]
        assert set(node.get("description_localizations") or {}) >= LOCALES, node["name"]
        assert node["description"] not in ("…", "...", ""), node["name"]
        assert len(node["description"].split()) >= 2, node["name"]  # a few real words
    generate = next(o for o in pika["options"] if o["name"] == "generate")
    assert generate["name_localizations"]["fr"] == "générer"
    assert generate["name_localizations"]["ja"] == "生成"
    prompt = next(o for o in generate["options"] if o["name"] == "prompt")
    assert prompt["description_localizations"]["de"] == "Was das Video zeigt"
    style = next(o for o in generate["options"] if o["name"] == "style")
    watercolor = next(c for c in style["choices"] if c["value"] == "Watercolor")
    assert watercolor["name_localizations"]["pt-BR"] == "Aquarela"
    menus = [c for c in fake.commands[GUILD_ID] if c["type"] == 3]
    for menu in menus:
        assert set(menu["name_localizations"]) >= LOCALES, menu["name"]


async def test_a_french_member_reads_every_step_in_french(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    fake.locales[REQUESTER] = "fr"
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "un renard"})
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    assert working.content.startswith(f"🎬 **Vidéo** pour <@{REQUESTER}> “un renard”")
    assert "prête <t:" in working.content
    ready = "ta vidéo est prête"
    result = (
        await fake.wait_for(
            lambda: [m for m in fake.channel_messages(GENERAL) if ready in m.content],
            what="the result, in French",
        )
    )[0]
    labels = [c["label"] for row in result.components for c in row["components"]]
    assert labels == ["Prolonger", "Agrandir", "Relancer", "Infos"]
    fields = {f["name"] for f in result.embeds[0]["fields"]}
    assert {"Modèle", "Graine", "Format", "Durée"} <= fields
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the reactions")
    # A reaction carries no language: its job speaks the language of the result it is on.
    await behave(pika, fail_jobs=1)
    fake.react(REQUESTER, result, "🔁")
    failed = await fake.wait_for(
        lambda: failures(fake),
        what="the failure, in French",
    )
    assert "Échec de la création" in failed[0].content and "**Réessayer**" in failed[0].content
    assert button(failed[0], "retry")
    info = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "info")))
    assert {f["name"] for f in info["data"]["embeds"][0]["fields"]} >= {"Identifiant", "État"}
    usage = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "usage"))
    assert usage["data"]["content"].startswith("Aujourd'hui, tu en as fait **2** sur **20**")
    assert results(fake) == []  # the English wording of a result was never used


A = "https://cdn.example.org/a"
# Rules of Pika's requests that only the request models check (Discord's options cannot say
# them), each as a French or German member reads it: the option as their Discord shows it, the
# rule in their words, with its numbers.
MEMBER_RULES: list[tuple[int, str, dict[str, Any], str]] = [
    (REQUESTER, "generate", {}, "prompt : donne un prompt, une image ou une vidéo"),
    (
        MEMBER,
        "generate",
        {"prompt": "x", "model": "2.1", "style": "Anime"},
        "stil: nur Modell 1.0 nimmt stil an",
    ),
    (
        REQUESTER,
        "swap",
        {"swap_prompt": " ", "prompt": "x", "video_url": f"{A}.mp4", "image_url": f"{A}.png"},
        "à_remplacer : ne doit pas être vide",
    ),
    (
        REQUESTER,
        "inpaint",
        {"video_url": f"{A}.mp4", "x": 60, "width": 50},
        "x : x + largeur doit valoir au plus 100 (reçu : 60 + 50)",
    ),
    (
        MEMBER,
        "inpaint",
        {"video_url": f"{A}.mp4", "y": 50, "height": 60},
        "y: y + höhe darf höchstens 100 sein (erhalten: 50 + 60)",
    ),
    (
        REQUESTER,
        "lipsync",
        {"video_url": f"{A}.mp4", "speech_url": f"{A}.wav", "speech_start": 3, "speech_end": 1},
        "fin_voix : doit venir après début_voix (reçu : de 3 à 1)",
    ),
    (
        REQUESTER,
        "upscale",
        {"video_url": "not a url"},
        "vidéo_url : doit être une URL http:// ou https://",
    ),
    (MEMBER, "extend", {"video_url": f"{A}.webm"}, "video_url: muss ein .mp4-Video sein"),
]


async def test_members_read_the_rules_of_pikas_requests_in_their_language(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # These rules came from the request models in English ("prompt: give a prompt, an image or
    # a video"), to French and German members alike.
    fake.locales[REQUESTER] = "fr"
    fake.locales[MEMBER] = "de"
    for user, sub, options, rule in MEMBER_RULES:
        text = await private_answer(fake, fake.slash(user, GENERAL, "pika", sub, options))
        assert text == f"⚠️ {rule}", (sub, options, text)
    assert await pika_calls(pika) == []  # nothing was paid for


async def test_owners_read_the_rules_of_their_settings_in_their_language(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # The settings' own rules came in English ("'Mars/Olympus' is not a time zone; ...").
    fake.locales[ADMIN] = "fr"
    assert await admin(fake, "timezone", {"zone": "Mars/Olympus"}) == (
        "⚠️ fuseau : 'Mars/Olympus' n'est pas un fuseau horaire ; utilise un nom comme "
        "Europe/Paris, America/New_York ou UTC"
    )
    assert await admin(fake, "blocked", {"add": "fox|"}) == (
        "⚠️ ajouter : `fox|` bloquerait tous les prompts (il correspond à un texte vide) ; "
        "donne un mot ou une expression qui doit être trouvé"
    )
    refused = await admin(fake, "blocked", {"add": "(a)\\1"})
    assert refused.startswith("⚠️ ajouter : `(a)\\1` ne peut pas être utilisé (`"), refused
    assert refused.endswith(
        "`) ; les motifs ne peuvent utiliser ni références arrière ni assertions avant ou arrière"
    )
    fake.locales[ADMIN] = "de"
    refused = await admin(fake, "blocked", {"add": "(\\w+\\s?){1000}z"})
    costly = "⚠️ hinzufügen: `(\\w+\\s?){1000}z` kann nicht verwendet werden (zu aufwendig"
    assert refused.startswith(costly), refused


async def test_a_video_too_long_to_extend_is_refused_in_the_members_words(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess, tmp_path: Path
) -> None:
    # A French member extending a 12 s video read "Pika refuserait : video: is 12 s long; an
    # extend adds 4 s and Pika stops at 15 s", in English (eafeb7e): by the menu and by the
    # Extend button of a result posted before it was that long, too.
    fake.locales[REQUESTER] = "fr"
    await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "un renard"})
    )
    ready = "ta vidéo est prête"
    result = (
        await fake.wait_for(
            lambda: [m for m in fake.channel_messages(GENERAL) if ready in m.content],
            what="the result, in French",
        )
    )[0]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the result settled")
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:  # as long as three extends make it
        made_long = "UPDATE jobs SET duration = 12 WHERE result_message_id = ?"
        assert db.execute(made_long, (result.id,)).rowcount == 1
    for use in (
        fake.context_menu(REQUESTER, result, "Extend video"),
        fake.press(REQUESTER, result, button(result, "extend")),  # a result posted at 3 s
    ):
        answer = (await fake.wait_for_response(use))["data"]
        assert answer["flags"] == 64
        assert answer["content"] == (
            "⛔ Pika refuserait : vidéo : dure 12 s ; une prolongation ajoute 4 s et Pika "
            "s'arrête à 15 s"
        )
    assert await calls_to(pika, "/web/extend") == []


async def test_a_french_members_refused_link_and_files_name_their_options_in_french(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A link that is none named "vidéo", the option left empty, not "vidéo_url", the one
    # filled; two files at once were named "image, video", untranslated.
    fake.locales[REQUESTER] = "fr"
    link = fake.slash(REQUESTER, GENERAL, "pika", "upscale", {"video_url": "pas un lien"})
    assert await private_answer(fake, link) == "⚠️ vidéo_url : doit être une URL http:// ou https://"
    # A link to a file of the wrong type named "vidéo" too, the vendor's field.
    typed = fake.slash(REQUESTER, GENERAL, "pika", "upscale", {"video_url": "https://a.org/b.png"})
    assert await private_answer(fake, typed) == "⚠️ vidéo_url : doit être une vidéo .mp4"
    files = {"image": ("a.png", png(), "image/png"), "video": ("a.mp4", mp4(1.0), "video/mp4")}
    both = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "un renard"}, files)
    assert await private_answer(fake, both) == (
        "⚠️ image, vidéo : donne une image ou une vidéo, pas les deux."
    )
    assert await pika_calls(pika) == []


async def test_a_choice_the_command_does_not_offer_is_refused_in_the_members_words(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A crafted choice was refused to a French member with "'in' or 'out'": an English "or",
    # and the choices by values their Discord never shows (it shows "avant" and "arrière").
    fake.locales[REQUESTER] = "fr"
    crafted = {"prompt": "un renard", "zoom": "sideways"}
    zoom = fake.slash(REQUESTER, GENERAL, "pika", "generate", crafted)
    assert await private_answer(fake, zoom) == (
        "⚠️ zoom : doit être l'une des valeurs : 'avant', 'arrière'"
    )
    assert await pika_calls(pika) == []


async def test_a_refused_retry_reaction_on_a_failure_is_told_in_the_failures_language(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A reaction carries no language: a 🔁 on a French member's failure, by someone who may
    # not retry it, is explained in French, as a reaction on their result would be.
    fake.locales[REQUESTER] = "fr"
    await behave(pika, fail_jobs=1)
    await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "un renard"})
    )
    failed = (await fake.wait_for(lambda: failures(fake), what="the failure"))[0]
    fake.react(MEMBER, failed, "🔁")
    notes = await fake.wait_for(lambda: notes_to(fake, MEMBER), what="the note to the member")
    assert notes[0].content.endswith(
        "Seul le membre qui a demandé cette vidéo, ou un modérateur, peut la réessayer."
    ), notes[0].content
    assert len(await calls_to(pika, "/web/generate")) == 1  # the first, and no retry


async def test_a_member_without_manage_server_is_refused_in_their_language(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # discord.py's "You are missing Manage Server permission(s) to run this command." reached
    # a German member in English.
    fake.locales[MEMBER] = "de"
    answer = await admin(fake, "limits", {"daily_member": 500}, user=MEMBER)
    assert answer == ("⛔ Du brauchst die Berechtigung **Server verwalten**, um das zu verwenden.")
