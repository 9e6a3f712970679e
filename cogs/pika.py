"""`/pika ...`: a slash command for every Pika feature, and the two video context menus.

Thin by design: options and attachments go to `bot.intake`, which builds and validates the
request; a valid one becomes a job (`bot.jobs`) and a public "working on it" message; an invalid
one gets an ephemeral message naming the option and its rule, and Pika is never called.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot import intake
from bot.app import PikaBot
from bot.guardrails import Ask, Refusal, texts_of
from bot.intake import InputError, Media
from bot.jobs.controls import result_view
from bot.jobs.service import Origin
from bot.jobs.store import Job, Status
from bot.jobs.texts import KIND_TITLES, STATUS_WORDS, result_embed, working_text
from bot.pika.media import MediaKind
from bot.pika.models import Pikaffect, Style

AspectRatio = Literal["16:9", "9:16", "1:1", "5:2", "4:5", "4:3"]
Prompt = app_commands.Range[str, 1, 1000]
Percent = app_commands.Range[float, 0, 100]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])

# The common video options, shared by every subcommand that makes a video.
_COMMON: list[tuple[str, Any, str]] = [
    ("aspect_ratio", AspectRatio | None, "Shape of the video"),
    ("frame_rate", app_commands.Range[int, 1, 24] | None, "Frames per second, 1-24"),
    ("motion", app_commands.Range[int, 1, 4] | None, "Strength of motion, 1-4"),
    ("guidance_scale", app_commands.Range[int, 5, 25] | None, "Closeness to the prompt, 5-25"),
    ("negative_prompt", app_commands.Range[str, 1, 1000] | None, "What to avoid"),
    ("seed", app_commands.Range[int, 0, 2**53 - 1] | None, "Seed, for a repeatable result"),
    ("zoom", Literal["in", "out"] | None, "Camera zoom"),
    ("pan", Literal["left", "right"] | None, "Camera pan"),
    ("tilt", Literal["up", "down"] | None, "Camera tilt"),
    ("rotate", Literal["cw", "ccw"] | None, "Camera rotation"),
]  # fmt: skip
COMMON_NAMES = tuple(name for name, _, _ in _COMMON)


def video_options(*, exclude: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Add the common video options to a subcommand; they arrive together as `common`."""

    def decorate(func: F) -> F:
        own = [p for p in inspect.signature(func).parameters.values() if p.name != "common"]
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind)
            for name, kind, _ in _COMMON
            if name not in exclude
        ]

        @functools.wraps(func)
        async def wrapper(self: Any, interaction: discord.Interaction, **kwargs: Any) -> None:
            common = {name: kwargs.pop(name, None) for name in COMMON_NAMES if name not in exclude}
            await func(self, interaction, common=common, **kwargs)

        wrapper.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        described = {name: text for name, _, text in _COMMON if name not in exclude}
        return app_commands.describe(**described)(wrapper)  # type: ignore[return-value]

    return decorate


def media(attachment: discord.Attachment | None) -> Media | None:
    """What intake needs of an attachment."""
    if attachment is None:
        return None
    return Media(attachment.url, attachment.filename, attachment.content_type)


@app_commands.guild_only()  # credits are a server's: no DMs, where no guardrails apply
class Pika(commands.GroupCog, group_name="pika", group_description="Make videos with Pika"):
    """Every Pika feature as a `/pika` subcommand."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        self.menus = [
            app_commands.guild_only()(
                app_commands.ContextMenu(name="Extend video", callback=self.extend_menu)
            ),
            app_commands.guild_only()(
                app_commands.ContextMenu(name="Upscale video", callback=self.upscale_menu)
            ),
        ]
        super().__init__()

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    # --- the shared path --------------------------------------------------------------------

    async def start(
        self,
        interaction: discord.Interaction,
        kind: str,
        body: dict[str, Any],
        inputs: list[Media | None],
        parent: Job | None = None,
    ) -> None:
        """Validate, write the job, answer publicly, then send to Pika."""
        try:
            request = intake.build(kind, body, intake.facts_for(*inputs, parent=parent))
        except InputError as exc:
            await interaction.response.send_message(f"⚠️ {exc}", ephemeral=True)
            return
        channel = interaction.channel
        thread = channel if isinstance(channel, discord.Thread) else None
        origin = Origin(
            guild_id=interaction.guild_id, user_id=interaction.user.id,
            thread_id=thread.id if thread else None,
            channel_id=(thread.parent_id if thread else None) or interaction.channel_id or 0,
        )  # fmt: skip
        user = interaction.user
        roles = frozenset(r.id for r in getattr(user, "roles", []))
        ask = Ask(origin.guild_id, origin.channel_id, user.id, roles, kind,
                  texts_of(request.payload()))  # fmt: skip
        try:
            async with self.bot.guardrails.admitted(ask):
                job = await self.bot.jobs.create(
                    kind, request, origin, parent_job_id=parent.id if parent else None
                )
        except Refusal as exc:
            await interaction.response.send_message(f"⛔ {exc}", ephemeral=True)
            return
        answer = await interaction.response.send_message(
            working_text(job), allowed_mentions=discord.AllowedMentions.none()
        )
        await self.bot.jobs.start(job.id, answer.message_id)

    async def options(
        self, interaction: discord.Interaction, values: dict[str, Any],
        base: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Vendor options from the member's values over the server's defaults."""
        settings = await self.bot.guild_settings.get(interaction.guild_id)
        return intake.options_body(values, base, settings.defaults.model_dump())

    async def source(self, video: Media | None) -> Job | None:
        """The job that made a video, when the video is a result of ours."""
        return await self.bot.store.by_result_url(video.url) if video else None

    def pick(self, name: str, kind: MediaKind, attachment: discord.Attachment | None,
             url: str | None, *, required: bool = False) -> Media | None:  # fmt: skip
        """One of an option pair (raises InputError, answered by the error handler)."""
        return intake.pick(name, kind, media(attachment), url, required=required)

    # --- subcommands ------------------------------------------------------------------------

    @app_commands.command(description="Text, image or video to video (model 1.0 or 2.1)")
    @app_commands.describe(prompt="What to make", image="An image to animate",
                           video="A video to start from (model 1.0)", model="Pika model",
                           style="Look (model 1.0)", sfx="Sound effects (model 1.0)")  # fmt: skip
    @video_options()
    async def generate(
        self, interaction: discord.Interaction, prompt: Prompt | None = None,
        image: discord.Attachment | None = None, image_url: str | None = None,
        video: discord.Attachment | None = None, video_url: str | None = None,
        model: Literal["1.0", "2.1"] = "1.0", style: Style | None = None,
        sfx: bool | None = None, *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Generate."""
        picture = self.pick("image", MediaKind.IMAGE, image, image_url)
        clip = self.pick("video", MediaKind.VIDEO, video, video_url)
        body = {"promptText": prompt, "model": None if model == "1.0" else model,
                "image": picture and picture.url, "video": clip and clip.url, "style": style,
                "sfx": sfx, "options": await self.options(interaction, common)}  # fmt: skip
        await self.start(interaction, "generate", body, [picture, clip])

    @app_commands.command(description="A Pikaffect on an image or a video (model 1.5)")
    @app_commands.describe(effect="The effect", image="Image to apply it to",
                           video="Video to apply it to", prompt="Extra prompt")  # fmt: skip
    @video_options()
    async def pikaffect(
        self, interaction: discord.Interaction, effect: Pikaffect,
        image: discord.Attachment | None = None, image_url: str | None = None,
        video: discord.Attachment | None = None, video_url: str | None = None,
        prompt: Prompt | None = None, *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Pikaffect."""
        picture = self.pick("image", MediaKind.IMAGE, image, image_url)
        clip = self.pick("video", MediaKind.VIDEO, video, video_url)
        if picture is None and clip is None:
            raise InputError(["image: attach an image or a video for the effect to act on"])
        body = {"model": "1.5", "pikaffect": effect, "promptText": prompt,
                "image": picture and picture.url, "video": clip and clip.url,
                "options": await self.options(interaction, common)}  # fmt: skip
        await self.start(interaction, "pikaffect", body, [picture, clip])

    @app_commands.command(description="A video from up to four images (model 2.0)")
    @app_commands.describe(ingredient_1="An image to use", prompt="What to make",
                           mode="precise (default) or creative")  # fmt: skip
    @video_options()
    async def ingredients(
        self, interaction: discord.Interaction,
        ingredient_1: discord.Attachment | None = None, ingredient_1_url: str | None = None,
        ingredient_2: discord.Attachment | None = None, ingredient_2_url: str | None = None,
        ingredient_3: discord.Attachment | None = None, ingredient_3_url: str | None = None,
        ingredient_4: discord.Attachment | None = None, ingredient_4_url: str | None = None,
        prompt: Prompt | None = None, mode: Literal["precise", "creative"] | None = None,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Ingredients."""
        pairs = [(ingredient_1, ingredient_1_url), (ingredient_2, ingredient_2_url),
                 (ingredient_3, ingredient_3_url), (ingredient_4, ingredient_4_url)]  # fmt: skip
        found = [
            self.pick(f"ingredient_{i}", MediaKind.IMAGE, a, u, required=i == 1)
            for i, (a, u) in enumerate(pairs, start=1)
        ]
        images = [m for m in found if m is not None]
        body = {"model": "2.0", "promptText": prompt, "ingredientsMode": mode,
                "ingredients": [m.url for m in images],
                "options": await self.options(interaction, common)}  # fmt: skip
        await self.start(interaction, "ingredients", body, list(images))

    @app_commands.command(description="Add an image's content into a video (Turbo)")
    @app_commands.describe(prompt="How to add it", video="The video", image="What to add")
    @video_options()
    async def additions(
        self, interaction: discord.Interaction, prompt: Prompt,
        video: discord.Attachment | None = None, video_url: str | None = None,
        image: discord.Attachment | None = None, image_url: str | None = None,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Additions."""
        clip = self.pick("video", MediaKind.VIDEO, video, video_url, required=True)
        picture = self.pick("image", MediaKind.IMAGE, image, image_url, required=True)
        body = {"model": "Turbo", "promptText": prompt, "video": clip and clip.url,
                "image": picture and picture.url,
                "options": await self.options(interaction, common)}  # fmt: skip
        await self.start(interaction, "additions", body, [clip, picture])

    @app_commands.command(description="Swap an area of a video (Turbo)")
    @app_commands.describe(swap_prompt="What to swap out", prompt="What to put in its place",
                           video="The video", image="A reference image")  # fmt: skip
    @video_options()
    async def swap(
        self, interaction: discord.Interaction, swap_prompt: Prompt, prompt: Prompt,
        video: discord.Attachment | None = None, video_url: str | None = None,
        image: discord.Attachment | None = None, image_url: str | None = None,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Swap."""
        clip = self.pick("video", MediaKind.VIDEO, video, video_url, required=True)
        picture = self.pick("image", MediaKind.IMAGE, image, image_url, required=True)
        body = {"model": "Turbo", "swapPrompt": swap_prompt, "promptText": prompt,
                "video": clip and clip.url, "image": picture and picture.url,
                "options": await self.options(interaction, common)}  # fmt: skip
        await self.start(interaction, "swap", body, [clip, picture])

    @app_commands.command(description="A new prompt over an existing video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The new prompt")
    @video_options()
    async def reprompt(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None, prompt: Prompt | None = None,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Reprompt."""
        await self._on_video(interaction, "reprompt", video, video_url, common, prompt=prompt)

    @app_commands.command(description="New options over an existing video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The prompt", style="Look")
    @video_options()
    async def edit(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None, prompt: Prompt | None = None,
        style: Style | None = None, *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Edit."""
        await self._on_video(interaction, "edit", video, video_url, common, prompt=prompt,
                             style=style)  # fmt: skip

    @app_commands.command(description="Modify a region of a video (model 1.0)")
    @app_commands.describe(video="The video", prompt="What the region becomes",
                           x="Left edge, % of width", y="Top edge, % of height",
                           width="Width, % of the video", height="Height, % of the video",
                           style="Look")  # fmt: skip
    @video_options()
    async def inpaint(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None, prompt: Prompt | None = None,
        x: Percent = 0.0, y: Percent = 0.0, width: Percent = 100.0, height: Percent = 100.0,
        style: Style | None = None, *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Inpaint."""
        area = {"x": x, "y": y, "width": width, "height": height}
        await self._on_video(interaction, "inpaint", video, video_url, common, prompt=prompt,
                             style=style, mode="inpainting", area=area)  # fmt: skip

    @app_commands.command(description="Extend the canvas to a new aspect ratio (model 1.0)")
    @app_commands.describe(prompt="What fills the new space", aspect_ratio="The new shape",
                           video="The video", x="Where the video sits: left, %",
                           y="Top, %", width="Width, %", height="Height, %")  # fmt: skip
    @video_options(exclude=("aspect_ratio",))
    async def outpaint(
        self, interaction: discord.Interaction, prompt: Prompt, aspect_ratio: AspectRatio,
        video: discord.Attachment | None = None, video_url: str | None = None,
        x: Percent = 0.0, y: Percent = 0.0, width: Percent = 100.0, height: Percent = 100.0,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Outpaint."""
        area = {"x": x, "y": y, "width": width, "height": height}
        await self._on_video(interaction, "outpaint", video, video_url,
                             common | {"aspect_ratio": aspect_ratio}, prompt=prompt,
                             mode="outpainting", area=area)  # fmt: skip

    @app_commands.command(description="Add four seconds to a video (model 1.0)")
    @app_commands.describe(video="The video", prompt="The prompt for the new seconds")
    @video_options()
    async def extend(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None, prompt: Prompt | None = None,
        *, common: dict[str, Any],
    ) -> None:  # fmt: skip
        """Extend."""
        await self._on_video(interaction, "extend", video, video_url, common, prompt=prompt)

    @app_commands.command(description="Upscale a video made by Pika")
    @app_commands.describe(video="The video")
    async def upscale(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None,
    ) -> None:  # fmt: skip
        """Upscale."""
        clip = self.pick("video", MediaKind.VIDEO, video, video_url, required=True)
        assert clip is not None
        await self.start(interaction, "upscale", {"video": clip.url}, [clip],
                         await self.source(clip))  # fmt: skip

    @app_commands.command(description="Lip sync a video to speech")
    @app_commands.describe(video="The video", speech="Speech, a .wav file",
                           speech_start="Where in the speech to start, seconds",
                           speech_end="Where in the speech to end, seconds")  # fmt: skip
    async def lipsync(
        self, interaction: discord.Interaction, video: discord.Attachment | None = None,
        video_url: str | None = None, speech: discord.Attachment | None = None,
        speech_url: str | None = None, speech_start: app_commands.Range[float, 0, 3600] = 0.0,
        speech_end: app_commands.Range[float, 0, 3600] | None = None,
    ) -> None:  # fmt: skip
        """Lip sync."""
        clip = self.pick("video", MediaKind.VIDEO, video, video_url, required=True)
        voice = self.pick("speech", MediaKind.SPEECH, speech, speech_url, required=True)
        parent = await self.source(clip)
        if speech_end is None:
            length = parent.duration if parent and parent.duration else 3.0
            speech_end = speech_start + length
        body = {"video": clip and clip.url, "speech": voice and voice.url,
                "speechStart": speech_start, "speechEnd": speech_end}  # fmt: skip
        await self.start(interaction, "lipsync", body, [clip, voice], parent)

    async def _on_video(
        self, interaction: discord.Interaction, kind: str, video: discord.Attachment | None,
        video_url: str | None, common: dict[str, Any], **fields: Any,
    ) -> None:  # fmt: skip
        """A job on an existing video; a result of ours lends its prompt and options."""
        clip = self.pick("video", MediaKind.VIDEO, video, video_url, required=True)
        parent = await self.source(clip)
        prompt = fields.pop("prompt", None) or (parent.prompt if parent else None)
        base = parent.request.get("options") if parent else None
        body = {"promptText": prompt, "video": clip and clip.url,
                "options": await self.options(interaction, common, base), **fields}  # fmt: skip
        if kind == "extend" or kind == "outpaint":
            body.pop("style", None)
        await self.start(interaction, kind, body, [clip], parent)

    # --- jobs -------------------------------------------------------------------------------

    @app_commands.command(description="Status, result and controls of a job")
    @app_commands.describe(job_id="The job id shown on its messages")
    async def job(
        self, interaction: discord.Interaction, job_id: app_commands.Range[str, 1, 40]
    ) -> None:
        """Job."""
        job = await self.bot.store.get(job_id.strip().strip("`").lower())
        if job is None or job.guild_id != interaction.guild_id:
            await interaction.response.send_message(f"⚠️ job_id: there is no job `{job_id}` here.",
                                                    ephemeral=True)  # fmt: skip
            return
        if job.result_url is None or job.status is not Status.DELIVERED:
            await interaction.response.send_message(
                working_text(job), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
            return
        await interaction.response.send_message(
            f"Job `{job.id}`: {job.result_url}", embed=result_embed(job, linked=True),
            view=result_view(job.id), allowed_mentions=discord.AllowedMentions.none(),
        )  # fmt: skip

    @app_commands.command(description="Your ten latest jobs")
    async def jobs(self, interaction: discord.Interaction) -> None:
        """Jobs."""
        recent = await self.bot.store.recent_for_user(interaction.guild_id, interaction.user.id, 10)
        if not recent:
            await interaction.response.send_message(
                "You have no jobs here yet. Try `/pika generate`.", ephemeral=True
            )
            return
        lines = [
            f"`{j.id}` {KIND_TITLES.get(j.kind, j.kind)} · {STATUS_WORDS[j.status]}"
            + (f" {j.progress}%" if j.status is Status.RUNNING else "")
            + (f" · “{j.prompt[:60]}”" if j.prompt else "")
            for j in recent
        ]
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @app_commands.command(description="Your use today, what is left, and your running jobs")
    async def usage(self, interaction: discord.Interaction) -> None:
        """Usage."""
        use = await self.bot.guardrails.usage(interaction.guild_id, interaction.user.id)
        resets = f"<t:{int(use.resets_at.timestamp())}:R>"
        lines = [
            f"Today you made **{use.today}** of your **{use.quota}** jobs; "
            f"**{max(0, use.quota - use.today)}** left (resets {resets}).",
        ]
        for job in use.running:
            lines.append(f"• `{job.id}` {KIND_TITLES.get(job.kind, job.kind)}: "
                         f"{STATUS_WORDS[job.status]} {job.progress}%")  # fmt: skip
        if not use.running:
            lines.append("No jobs running.")
        if interaction.permissions.manage_guild:
            quota = "no quota" if use.server_quota is None else f"quota {use.server_quota}"
            lines.append(f"Server today: **{use.server_today}** jobs ({quota}), "
                         f"**{use.server_running}** running.")  # fmt: skip
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    # --- context menus ----------------------------------------------------------------------

    async def extend_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Extend video (message context menu)."""
        await self._menu(interaction, message, "extend")

    async def upscale_menu(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Upscale video (message context menu)."""
        await self._menu(interaction, message, "upscale")

    async def _menu(
        self, interaction: discord.Interaction, message: discord.Message, kind: str
    ) -> None:
        url = next((a.url for a in message.attachments if a.filename.lower().endswith(".mp4")
                    or (a.content_type or "").startswith("video/mp4")), None)  # fmt: skip
        known = await self.bot.store.by_result_message(message.id)
        if known is not None and known.result_url:
            url = known.result_url
        if url is None:
            await interaction.response.send_message("⚠️ video: this message carries no MP4 video.",
                                                    ephemeral=True)  # fmt: skip
            return
        clip = Media(url, "video.mp4", "video/mp4")
        parent = known or await self.source(clip)
        if kind == "upscale":
            await self.start(interaction, "upscale", {"video": url}, [clip], parent)
            return
        base = parent.request.get("options") if parent else None
        body = {"promptText": parent.prompt if parent and parent.prompt else None, "video": url,
                "options": await self.options(interaction, {}, base)}  # fmt: skip
        await self.start(interaction, "extend", body, [clip], parent)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Pika(bot))
