"""`/pika-admin`: a server's guardrails, changed without files or restarts.

Only members with Manage Server see the group (`default_member_permissions`), and the bot checks
again on every use, so a crafted interaction changes nothing. Every change is audited and, when
a log channel is set, posted there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.owner import (
    SHOWN_CHANNELS,
    SHOWN_PATTERNS,
    audit_page,
    listed,
    options_text,
    setting_text,
    status_text,
)
from bot.discord.wording import code, language_of, one_line, say, setting_title
from bot.errors import InputError
from bot.guardrails import GuildSettings, zone_names
from bot.ops.report import status_report
from bot.pika.models import AspectRatio
from bot.storage import Change
from cogs.options import FrameRate, GuidanceScale, Motion, Prompt, check_options

log = logging.getLogger(__name__)


class RulesChannel(app_commands.Transformer):
    """A channel of this server whose rules members' requests follow: a text, announcement,
    voice or stage channel, where they ask, or a forum, in whose posts they ask (a thread
    follows its channel). discord.py's `ForumChannel` would add media channels, which this
    Discord API description does not know."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        """A channel option."""
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        """The kinds Discord offers to pick."""
        kinds = discord.ChannelType
        return [kinds.text, kinds.news, kinds.voice, kinds.stage_voice, kinds.forum]

    async def transform(
        self, interaction: discord.Interaction, value: Any
    ) -> discord.abc.GuildChannel:
        """The channel, from this server's own channels (never another server's)."""
        found = interaction.guild.get_channel(value.id) if interaction.guild else None
        if found is None:
            raise app_commands.TransformerError(value, self.type, self)
        return found


ZONE_CHOICES = 25  # Discord shows at most 25 suggestions
CHOICE_CHARS = 100  # and takes none whose name or value is longer


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(
    commands.GroupCog,
    group_name="pika-admin",
    group_description="Guardrails for this server's Pika credits",
):
    """Server settings: who may spend the owner's credits, how fast and how much."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Checked on every subcommand: Discord's own gate can be bypassed by a crafted
        interaction, this one cannot."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        check_options(interaction)
        return True

    async def change(self, interaction: discord.Interaction, **changes: Any) -> None:
        """Validate and apply; answer with what changed; audit and log it.

        A refused value raises InputError, which names the setting and its rule."""
        await self.edit(interaction, lambda _: changes)

    async def edit(
        self,
        interaction: discord.Interaction,
        changes_of: Callable[[GuildSettings], dict[str, Any]],
    ) -> None:
        """`change`, with changes made from the settings as stored when they are written (an
        entry added to a list): another admin's change at the same moment is kept."""
        assert interaction.guild_id is not None
        lang = language_of(interaction.locale)
        try:
            settings, diffs = await self.bot.server_settings.edit(
                interaction.guild_id, interaction.user.id, changes_of
            )
        except InputError as exc:
            # The settings name what they hold (`blocked_patterns`); the owner typed an option.
            problems = [(option_of(where), rule, p) for where, rule, p in exc.problems]
            raise InputError(problems) from None
        if not diffs:
            await interaction.response.send_message(say("settings.unchanged", lang), ephemeral=True)
            return
        await interaction.response.send_message(
            say("settings.changed", lang, lines=change_lines(diffs, lang)),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        names = ", ".join(n for n, _, _ in diffs)
        log.info("Server %s: %s changed %s", interaction.guild_id, interaction.user.id, names)
        # The log channel is the server's: its moderators read it in the server's language,
        # whoever made the change.
        server_lang = language_of(server_locale(interaction))
        logged = say(
            "settings.logged",
            server_lang,
            user=interaction.user.id,
            lines=change_lines(diffs, server_lang),
        )
        # The log channel a change turned off or replaced hears of it too: else a moderator
        # could silence the log, unseen, before the changes it should show.
        before = [old for name, old, _ in diffs if name == "log_channel" and old is not None]
        for channel_id in before:
            if channel_id != settings.log_channel:
                await self.post_log(channel_id, logged)
        if settings.log_channel is not None and not await self.post_log(
            settings.log_channel, logged
        ):
            await interaction.followup.send(
                say("settings.log_failed", lang, channel=settings.log_channel),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )

    async def post_log(self, channel_id: int, text: str) -> bool:
        """Post a change to a log channel; False when it is gone or refuses the bot's post."""
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            log.warning("The log channel %s is gone", channel_id)
            return False
        try:
            await channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.warning("Could not post to the log channel %s", channel_id)
            return False
        return True

    async def current(self, interaction: discord.Interaction) -> GuildSettings:
        """This server's settings."""
        return await self.bot.server_settings.get(interaction.guild_id)

    @app_commands.command(description="Show every setting of this server")
    async def show(self, interaction: discord.Interaction) -> None:
        """Show every setting of this server."""
        rules = await self.current(interaction)
        lang = language_of(interaction.locale)
        none = say("settings.none", lang)
        defaults = {k: v for k, v in rules.defaults.model_dump().items() if v is not None}
        gone = self.gone(interaction, rules, lang)
        text = say(
            "settings.show",
            lang,
            channels=(
                listed([f"<#{c}>" for c in rules.allowed_channels], SHOWN_CHANNELS, lang)
                or say("settings.all_channels", lang)
            )
            + gone.get("channels", ""),
            role=f"<@&{rules.required_role}>{gone.get('role', '')}"
            if rules.required_role
            else none,
            running=rules.max_running_per_user,
            daily_member=rules.daily_quota_per_user,
            daily_server=rules.daily_quota_server or say("settings.no_limit", lang),
            cooldown=rules.cooldown_seconds,
            blocked=listed([f"`{code(p)}`" for p in rules.blocked_patterns], SHOWN_PATTERNS, lang)
            or none,
            paid=say("settings.allowed" if rules.paid_features else "settings.off", lang),
            defaults=(options_text(defaults, lang) if defaults else none)
            + gone.get("defaults", ""),
            log_channel=f"<#{rules.log_channel}>{gone.get('log', '')}"
            if rules.log_channel
            else none,
            timezone=rules.timezone,
        )
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    def gone(
        self, interaction: discord.Interaction, rules: GuildSettings, lang: str
    ) -> dict[str, str]:
        """A warning for each setting that stops what it should not: one that names what the
        server no longer has (a deleted required role stops every member, deleted channels the
        videos there, a deleted log channel every post of changes; Discord shows them only as
        "deleted"), and a default negative prompt holding a blocked word (every request)."""
        found: dict[str, str] = {}
        clash = rules.blocked_default()
        if clash is not None:
            found["defaults"] = " " + say("settings.defaults_blocked", lang, pattern=code(clash))
        guild = interaction.guild
        if guild is None:
            return found
        if rules.required_role is not None and guild.get_role(rules.required_role) is None:
            found["role"] = " " + say("settings.role_gone", lang)
        missing = [c for c in rules.allowed_channels if guild.get_channel_or_thread(c) is None]
        if missing and len(missing) == len(rules.allowed_channels):
            found["channels"] = " " + say("settings.channels_all_gone", lang)
        elif missing:
            found["channels"] = " " + say("settings.channels_gone", lang, count=len(missing))
        if rules.log_channel is not None and guild.get_channel(rules.log_channel) is None:
            found["log"] = " " + say("settings.log_gone", lang)
        return found

    @app_commands.command(description="Pika's health, jobs now and today, latest changes")
    async def status(self, interaction: discord.Interaction) -> None:
        """Whether Pika answers, jobs running and waiting, today's jobs by kind, typical
        durations, and the latest settings changes."""
        assert interaction.guild_id is not None
        report = await status_report(
            interaction.guild_id,
            self.bot.storage.reports,
            self.bot.server_settings,
            self.bot.pika_health,
        )
        await interaction.response.send_message(
            status_text(report, language_of(interaction.locale)),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(description="Every settings change, newest first, page by page")
    async def audit(self, interaction: discord.Interaction) -> None:
        """The whole settings audit, ten changes a page."""
        guild_id = interaction.guild_id
        assert guild_id is not None

        async def fetch(limit: int, offset: int) -> list[Change]:
            return await self.bot.server_settings.audit(guild_id, limit, offset)

        text, view = await audit_page(fetch, 0, language_of(interaction.locale))
        await interaction.response.send_message(
            text, view=view, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    @commands.Cog.listener()
    async def on_pika_audit_page(self, interaction: discord.Interaction, page: int) -> None:
        """Newer or Older pressed under a page of the audit: the page it names, in place. Only
        a member who may still manage the server turns pages."""
        self.bot.received(interaction)  # answered by a clean stop before it closes anything
        lang, guild_id = language_of(interaction.locale), interaction.guild_id
        if guild_id is None or not interaction.permissions.manage_guild:
            await interaction.response.send_message(say("audit.not_allowed", lang), ephemeral=True)
            return

        async def fetch(limit: int, offset: int) -> list[Change]:
            return await self.bot.server_settings.audit(guild_id, limit, offset)

        text, view = await audit_page(fetch, page, lang)
        await interaction.response.edit_message(
            content=text, view=view, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(description="Allow or stop videos in a channel (none listed: all)")
    @app_commands.describe(
        channel="The channel to allow or stop", allowed="True allows videos there, false stops"
    )
    async def channel(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[discord.abc.GuildChannel, RulesChannel],
        allowed: bool,
    ) -> None:
        """Allow or stop videos in one channel (a thread follows its channel's rules, so a
        forum's posts follow the forum's)."""

        def allow(current: GuildSettings) -> dict[str, Any]:
            listed = set(current.allowed_channels)
            if not allowed and not listed:
                # No list is no limit: there is nothing to take the channel out of, and the
                # owner must not believe it stopped.
                raise InputError.rule("allowed", "rule.channel_none_listed", channel=channel.id)
            updated = listed | {channel.id} if allowed else listed - {channel.id}
            return {"allowed_channels": sorted(updated)}

        await self.edit(interaction, allow)

    @app_commands.command(description="Require a role to make videos (leave empty: no role)")
    @app_commands.describe(role="The role members need; leave empty for none")
    async def role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        """Require a role to make videos, or none."""
        guild = interaction.guild
        if role is not None and (guild is None or guild.get_role(role.id) is None):
            # Another server's role (a crafted interaction): no member here could ever hold
            # it, and every request would be refused.
            raise InputError.rule("role", "rule.not_found")
        await self.change(interaction, required_role=role.id if role else None)

    @app_commands.command(description="How many videos members may make, and how fast")
    @app_commands.describe(
        running="Videos one member may have in the making at once",
        daily_member="Videos per member per day",
        daily_server="Videos for the whole server per day (0: no limit)",
        cooldown="Seconds a member waits between two requests",
    )
    async def limits(
        self,
        interaction: discord.Interaction,
        running: app_commands.Range[int, 1, 50] | None = None,
        daily_member: app_commands.Range[int, 0, 100_000] | None = None,
        daily_server: app_commands.Range[int, 0, 1_000_000] | None = None,
        cooldown: app_commands.Range[int, 0, 86_400] | None = None,
    ) -> None:
        """Set the caps, quotas and cooldown; options left out keep their value."""
        changes: dict[str, Any] = {}
        if running is not None:
            changes["max_running_per_user"] = running
        if daily_member is not None:
            changes["daily_quota_per_user"] = daily_member
        if daily_server is not None:
            changes["daily_quota_server"] = daily_server or None
        if cooldown is not None:
            changes["cooldown_seconds"] = cooldown
        await self.change(interaction, **changes)

    @app_commands.command(description="The time zone whose midnight starts a new quota day")
    @app_commands.describe(zone="A time zone such as Europe/Paris: start typing a city")
    async def timezone(
        self, interaction: discord.Interaction, zone: app_commands.Range[str, 1, 64]
    ) -> None:
        """Set the time zone whose midnight starts a new quota day."""
        await self.change(interaction, timezone=zone)

    @timezone.autocomplete("zone")
    async def _zones(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Time zones whose name holds what was typed (`paris` finds Europe/Paris)."""
        typed = current.strip().lower().replace(" ", "_")
        found = [z for z in zone_names() if typed in z.lower()]
        found.sort(key=lambda z: (not z.lower().split("/")[-1].startswith(typed), len(z), z))
        return [app_commands.Choice(name=z, value=z) for z in found[:ZONE_CHOICES]]

    @app_commands.command(description="Block words or patterns in prompts")
    @app_commands.describe(
        add="A word or regular expression to block", remove="A blocked one to allow again"
    )
    async def blocked(
        self,
        interaction: discord.Interaction,
        add: app_commands.Range[str, 1, 200] | None = None,
        remove: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        """Add or remove a blocked word or pattern."""

        def block(current: GuildSettings) -> dict[str, Any]:
            patterns = list(current.blocked_patterns)
            if add and add not in patterns:
                patterns.append(add)
            if remove and remove != add:
                if remove not in patterns:
                    # A typo left the word blocked while the owner read "Nothing changed".
                    raise InputError.rule("remove", "rule.not_blocked", pattern=remove)
                patterns.remove(remove)
            return {"blocked_patterns": patterns}

        await self.edit(interaction, block)

    @blocked.autocomplete("remove")
    async def _blocked_now(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The blocked patterns that hold what was typed, so the one to allow again is picked,
        not retyped (Discord takes a suggestion of at most 100 characters)."""
        if not interaction.permissions.manage_guild:
            return []  # the list is the moderators'
        rules = await self.current(interaction)
        typed = current.casefold()
        return [
            app_commands.Choice(name=one_line(pattern) or pattern, value=pattern)
            for pattern in rules.blocked_patterns
            if typed in pattern.casefold() and len(pattern) <= CHOICE_CHARS
        ][:ZONE_CHOICES]

    @app_commands.command(name="paid-features", description="Allow or stop extend and upscale")
    @app_commands.describe(allowed="Whether members may extend and upscale videos")
    async def paid_features(self, interaction: discord.Interaction, allowed: bool) -> None:
        """Allow or stop extend and upscale."""
        await self.change(interaction, paid_features=allowed)

    @app_commands.command(description="Default video options for the whole server")
    @app_commands.describe(
        aspect_ratio="The usual shape: 16:9 is wide, 9:16 is tall",
        frame_rate="Frames per second, from 1 to 24",
        motion="How much moves, from 1 (calm) to 4 (lively)",
        guidance_scale="How closely to follow the prompt, from 5 to 25",
        negative_prompt="What every video here should avoid",
        reset="Forget all the server's defaults first",
    )
    async def defaults(
        self,
        interaction: discord.Interaction,
        aspect_ratio: AspectRatio | None = None,
        frame_rate: FrameRate | None = None,
        motion: Motion | None = None,
        guidance_scale: GuidanceScale | None = None,
        negative_prompt: Prompt | None = None,
        reset: bool = False,
    ) -> None:
        """Set the server's default video options; `reset` forgets the others first."""
        given = {
            "aspect_ratio": aspect_ratio,
            "frame_rate": frame_rate,
            "motion": motion,
            "guidance_scale": guidance_scale,
            "negative_prompt": negative_prompt,
        }
        given = {k: v for k, v in given.items() if v is not None}

        def default(current: GuildSettings) -> dict[str, Any]:
            base = {} if reset else current.defaults.model_dump()
            return {"defaults": base | given}

        await self.edit(interaction, default)

    @app_commands.command(name="log-channel", description="Where settings changes are posted")
    @app_commands.describe(channel="The channel; leave empty for no log")
    async def log_channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        """Set the channel where settings changes are posted, or none."""
        await self.change(interaction, log_channel=channel.id if channel else None)


def change_lines(diffs: list[tuple[str, Any, Any]], lang: str) -> str:
    """Each change, a line: the setting's name, from what to what, in `lang`."""
    return "\n".join(
        say(
            "settings.change_line",
            lang,
            name=setting_title(name, lang),
            old=setting_text(name, old, lang),
            new=setting_text(name, new, lang),
        )
        for name, old, new in diffs
    )


def server_locale(interaction: discord.Interaction) -> object:
    """The server's preferred language: as Discord sent it with the interaction (current), or
    as the guild was last known."""
    if interaction.guild_locale is not None:
        return interaction.guild_locale
    return interaction.guild.preferred_locale if interaction.guild else None


# The option of `/pika-admin` that sets each setting, where their names differ.
OPTIONS = {
    "blocked_patterns": "add",
    "timezone": "zone",
    "max_running_per_user": "running",
    "daily_quota_per_user": "daily_member",
    "daily_quota_server": "daily_server",
    "cooldown_seconds": "cooldown",
    "required_role": "role",
    "log_channel": "channel",
    "allowed_channels": "channel",
    "paid_features": "allowed",
}


def option_of(setting: str) -> str:
    """The option a refused setting was given by (`defaults.motion` by `motion`)."""
    name = setting.removeprefix("defaults.")
    return OPTIONS.get(name, name)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Admin(bot))
