"""Every sentence a member reads, by key, in English: the catalogue `wording.say` fills.

Keys are grouped by where they are read (`refusal.*` by the guardrails, `input.*` and `rule.*` by
intake, `control.*` and `repeat.*` by the controls, `failure.*` for a job that ended without a
video, `kind.<name>` for each kind's title). The other languages live in `locales/<language>.toml`
(see `catalogues.py`); a key missing there falls back to the English below. Members never read a
job id, a status or route name of Pika's, or Pika's own error text, except in Info and
`/pika job`, which show the job id. Placeholders are simple `{name}`s.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # Refusals by the guardrails: which limit, and when it resets.
    "refusal.no_server": "Videos can only be made in a server, where its owner's limits apply.",
    "refusal.channel": "Videos can be made only in {channels} on this server.",
    "refusal.role": "Making videos here needs the <@&{role}> role.",
    "refusal.paused": (
        "Making videos is paused on this server (its daily limit per member is 0). A "
        "moderator can start it again."
    ),
    "refusal.paid_features": "Extending and upscaling are turned off on this server.",
    "refusal.blocked": (
        "Your request contains something this server does not allow (`{pattern}`), in what "
        "you typed or in your saved defaults (`/pika settings`). Change it and try again."
    ),
    "refusal.blocked_default": (
        "This server's default negative prompt holds `{pattern}`, which the server also blocks, "
        "so every request here is refused. A moderator must change the default "
        "(`/pika-admin defaults`) or allow the word again (`/pika-admin blocked remove`)."
    ),
    "refusal.running": (
        "Videos in the making: {running}, the most this server allows at once ({limit}). "
        "Ask again when one is ready."
    ),
    "refusal.member_quota": (
        "You have reached today's limit of {quota} here. It resets <t:{resets_at}:R> "
        "(midnight, {timezone})."
    ),
    "refusal.server_quota": (
        "This server has reached today's limit of {quota}. It resets <t:{resets_at}:R> "
        "(midnight, {timezone})."
    ),
    "refusal.try_again": "Many requests are arriving at once; please try again in a moment.",
    "refusal.cooldown": "Please wait {seconds} s between videos here. Ask again <t:{ready}:R>.",
    # Bad input: one line per option, "option: rule".
    "input.line": "{option}: {rule}",
    "rule.vendor": "{text}",
    "rule.blocked_in_defaults": (
        "holds `{pattern}`, which is blocked here, and every request carries the server's "
        "negative prompt: each one would be refused. Leave it out, or allow it again with "
        "`/pika-admin blocked remove`."
    ),
    "rule.blocks_defaults": (
        "`{pattern}` is in the server's default negative prompt, which every request carries: "
        "each one would be refused. Change the default first with `/pika-admin defaults`."
    ),
    "rule.blocked_in_mine": (
        "holds `{pattern}`, which this server blocks: each of your requests would be refused. "
        "Leave it out."
    ),
    "rule.not_blocked": (
        "`{pattern}` is not blocked on this server; pick the one to allow again among the "
        "suggestions as you type."
    ),
    "rule.channel_none_listed": (
        "while no channel is listed, videos may be made in every channel, <#{channel}> "
        "included. To keep them out of it, allow the channels where they may be made."
    ),
    "rule.either_not_both": "give either `{option}` or `{option_url}`, not both.",
    "rule.attach_or_url": "attach a file as `{option}` or give a link as `{option_url}`.",
    "rule.media.image": "must be a .png, .jpeg, .jpg, .webp or .gif image (got {filename}).",
    "rule.media.video": "must be an .mp4 video (got {filename}).",
    "rule.media.speech": "must be a .wav audio file (got {filename}).",
    "rule.effect_needs_media": "attach an image or a video for the effect to act on.",
    "rule.image_or_video": "give an image or a video, not both.",
    "rule.no_mp4": "this message has no MP4 video.",
    "rule.unreachable": (
        "could not be fetched; give a link to the file itself, on a public http(s) address"
    ),
    "rule.media.too_large": "is larger than {limit_mib} MiB",
    "rule.media.not_image": "is not a PNG, JPEG, WebP or GIF image",
    "rule.media.not_mp4": "is not an MP4 video that plays",
    "rule.media.not_wav": "is not a WAV file that plays",
    "rule.media.too_many_pixels": "is {width}x{height} pixels; at most {limit} pixels",
    "rule.media.frame_too_large": "is {width}x{height}; at most {side} pixels a side",
    "rule.media.too_long": "is {seconds} s long; at most {limit:g} s",
    "rule.media.too_many_frames": "has {frames} frames; at most {limit}",
    "rule.required": "is required",
    "rule.attachment_missing": "the file was not found; attach it again",
    "rule.not_found": "was not found; pick it again",
    "rule.type_bool": "must be true or false",
    "rule.type_text": "must be text",
    "rule.type_whole": "must be a whole number",
    "rule.type_number": "must be a number",
    "rule.text_too_long": "must be at most {high} characters (got {length})",
    "rule.text_too_short": "must be at least {low} characters long",
    "rule.range": "must be between {low:g} and {high:g}",
    "rule.choice": "must be one of {choices}",
    # What separates the choices of `rule.choice`.
    "rule.choice_separator": ", ",
    "rule.at_least": "must be at least {low}",
    "rule.at_most": "must be at most {high}",
    "rule.not_accepted": "is not accepted by this request",
    "rule.type_list": "must be a list",
    "rule.type_object": "must be an object",
    # Pika's rules on a request (`bot/pika/models`): `option` and `other` name options.
    "rule.not_empty": "must not be empty",
    "rule.url_too_long": "must be a URL of at most {limit} characters",
    "rule.url_scheme": "must be an http:// or https:// URL",
    "rule.url_credentials": (
        "must not carry a user name or password (Pika would get them with the link)"
    ),
    "rule.url.image": "must be a .png, .jpeg, .jpg, .webp or .gif image",
    "rule.url.video": "must be an .mp4 video",
    "rule.url.speech": "must be a .wav audio file",
    "rule.area_inside": "{option} + {other} must be at most {limit:g} (got {start:g} + {size:g})",
    "rule.model_only": "only model {models} accepts {option}",
    "rule.needs_input.image_video": "give a prompt, an image or a video",
    "rule.needs_input.image_ingredients": "give a prompt, an image or ingredients",
    "rule.needs_input.image": "give a prompt or an image",
    "rule.ingredients_count": "must hold {low} to {high} images (got {count})",
    "rule.outpaint_aspect_ratio": "is required when outpainting",
    "rule.extend_too_long": (
        "is {length:g} s long; an extend adds {adds:g} s and Pika stops at {limit:g} s"
    ),
    "rule.speech_start_past_end": (
        "must be before the end of the speech ({start:g} s >= {speech:g} s)"
    ),
    "rule.speech_end_before_start": "must be after {other} (got {start:g} to {end:g})",
    "rule.speech_span_too_long": (
        "{option} - {other} must be at most the video's length ({span:g} s > {length:g} s)"
    ),
    "rule.speech_end_past_speech": (
        "must be at most the speech's length ({end:g} s > {speech:g} s)"
    ),
    # The server's settings (`bot/guardrails/settings.py`).
    "rule.timezone": (
        "{value} is not a time zone; use a name such as Europe/Paris, America/New_York or UTC"
    ),
    "rule.patterns_count": "a server can block at most {limit} words or patterns",
    "rule.pattern_too_long": "a pattern is at most {limit} characters",
    "rule.not_made_by_pika": (
        "must be a video Pika made (a result of this bot, or a Pika result link); Pika upscales "
        "nothing else"
    ),
    "rule.pattern_not_text": (
        "`{pattern}` holds half of a character (an unpaired surrogate), which no text can hold; "
        "type it again"
    ),
    "rule.pattern_matches_empty": (
        "`{pattern}` would block every prompt (it matches empty text); give a word or phrase "
        "that must be found"
    ),
    "rule.pattern_matches_any_letter": (
        "`{pattern}` would block every prompt (it matches any letter); give a word or phrase "
        "that must be found"
    ),
    "rule.patterns_too_costly": (
        "together the patterns are too costly to match ({total} steps, at most {limit}); "
        "remove some, or make them simpler"
    ),
    "rule.pattern_unusable": (
        "`{pattern}` cannot be used (`{detail}`); patterns may not use back-references or "
        "look-arounds"
    ),
    "rule.pattern_too_costly": (
        "`{pattern}` cannot be used (too costly to match: {steps} steps, at most {limit}); "
        "use fewer or smaller repetitions"
    ),
    "rule.no_such_job": "none of your videos here has the id `{job_id}`.",
    "rule.outdated_command": (
        "Your Discord app has an outdated copy of this command. Reload Discord (Ctrl+R) and "
        "try again."
    ),
    # Controls: buttons, reactions, context menus and Retry.
    "check.missing_permissions": "You need the {permissions} permission to use this.",
    "check.bot_missing_permissions": (
        "The bot needs the {permissions} permission here to do this. Ask a moderator to give it."
    ),
    "check.missing_role": "You need the {role} role to use this.",
    "check.missing_any_role": "You need one of these roles to use this: {roles}.",
    "check.no_private_message": "This works in a server only, not in direct messages.",
    "check.cooldown": "Please wait {seconds} s before using this again. Try again <t:{ready}:R>.",
    "check.failed": "You cannot use this here.",
    "permission.manage_guild": "Manage Server",
    "permission.manage_messages": "Manage Messages",
    "permission.send_messages": "Send Messages",
    "permission.embed_links": "Embed Links",
    "permission.attach_files": "Attach Files",
    "permission.read_message_history": "Read Message History",
    "permission.add_reactions": "Add Reactions",
    "control.unknown_job": "The bot no longer knows this video.",
    "control.not_yours": (
        # Told for a reaction too: "its buttons" alone left a member who reacted wondering.
        "Only the member who made this video, or a moderator, can use its buttons and reactions."
    ),
    "control.not_yours_to_retry": (
        "Only the member who asked for this video, or a moderator, can retry it."
    ),
    "control.no_video_yet": "This video is not ready yet.",
    "control.already_upscaled": "This video is already an upscale.",
    "control.no_seed": "This kind of video cannot be re-rolled.",
    "control.pika_would_refuse": "Pika would refuse this: {reason}",
    "control.unknown_action": "This button no longer does anything.",
    "control.nothing_to_retry": "Only a video that could not be made can be retried.",
    "control.not_retryable": (
        "This cannot be retried: asked again as it was, it would fail the same way. Change the "
        "request, then ask again with `/pika`."
    ),
    "control.cannot_post": (
        "The bot can no longer post in <#{channel}>, so your reaction started nothing and "
        "nothing was charged. Ask a moderator to let it post there, or use the video's buttons."
    ),
    "repeat.working": "Already on it: {link}",
    "repeat.done": "Already done: {link}",
    "repeat.done.upscale": "This video already has an upscale, at no extra cost: {link}",
    "reaction.note": "<@{user}> {text}",
    # Why a job ended without a video, and what to do next.
    "failure.line": "❌ <@{user}> **{title}**{quoted} could not be made. {reason}",
    "failure.pika_rate_limited": "Pika is busy right now. Wait a minute, then press **Retry**.",
    "failure.pika_server": "Pika is having trouble right now. Press **Retry** in a few minutes.",
    "failure.pika_bad_response": (
        "Pika sent an answer the bot could not read. Press **Retry** in a few minutes."
    ),
    "failure.pika_auth": (
        "Pika refused the bot's key, so nothing can be made until the server owner checks it."
    ),
    "failure.pika_plan": (
        "The server owner's Pika plan has no credits left, or does not include this. Ask the owner."
    ),
    "failure.pika_rejected": (
        "Pika refused this request. Change the prompt or the files, then try again."
    ),
    "failure.pika_rejected_upscale": (
        "Pika refused to upscale this video: it upscales only videos Pika made. Press ⬆️ "
        "under one of this bot's results instead."
    ),
    "failure.pika_outcome_unknown": (
        "Pika did not answer in time, so the bot cannot tell whether it started this video. "
        "It was not sent again, so nothing is charged twice; press **Retry** if no video "
        "arrives."
    ),
    "failure.pika": "Pika could not take this request. Press **Retry** to try again.",
    "failure.unreadable": (
        "The bot could not read what it had saved of this request, so it stopped it. "
        "Press **Retry** to ask again."
    ),
    "failure.pika_failed": (
        "Pika could not make this video. Try another prompt or file, or press **Retry**."
    ),
    "failure.pika_job_gone": (
        "Pika no longer knows this job, so its video will not come. Press **Retry** to ask again."
    ),
    "failure.invalid": "This request no longer passes Pika's rules. Ask again with `/pika`.",
    "failure.interrupted": (
        "The bot restarted while sending this to Pika, so it cannot tell whether Pika started "
        "it. It was not sent again, so nothing is charged twice; press **Retry** to ask again."
    ),
    "failure.not_acknowledged": (
        "Discord did not get the bot's answer in time, so this was cancelled before Pika was "
        "asked: nothing was charged. Press **Retry** to ask again."
    ),
    "failure.not_sent": (
        "The bot stopped before sending this to Pika, so it was cancelled: nothing was "
        "charged. Press **Retry** to ask again."
    ),
    "failure.internal": (
        "Something went wrong on the bot's side while sending this to Pika, so it cannot tell "
        "whether Pika started it. It was not sent again, so nothing is charged twice; press "
        "**Retry** if no video arrives, and tell a moderator if it happens again."
    ),
    "failure.timed_out": (
        "Pika took longer than {minutes} minutes, so the bot stopped waiting. Press **Retry** "
        "to try again."
    ),
    "failure.no_reason": "The bot does not know why.",
    # The result was made but could not be posted; {detail} is an `undeliverable.*` sentence.
    "failure.undeliverable": "{detail}",
    "failure.discord": "{detail}",
    "failure.dm": (
        "Your **{title}**{quoted} is ready, but the bot could not post it where you asked: "
        "{reason}.{link}"
    ),
    "failure.dm_link": "\nHere it is: {url}",
    "failure.dm_long": "\nIts link is too long to send in a Discord message.",
    "failure.dm_local": (
        "\nThis bot's videos are simulated and stay on its own machine, so there is no link "
        "to give."
    ),
    "undeliverable.channel_gone": "that channel no longer exists",
    "undeliverable.hidden": "the bot can no longer see that channel",
    "undeliverable.not_messageable": "that channel cannot hold messages",
    "undeliverable.no_video": "Pika sent no video",
    "undeliverable.refused": "Discord refused the post",
    "delivery.discord_error": "Discord kept failing",
    "delivery.download": "the video could not be downloaded from Pika",
    "delivery.paused": "the bot was held up while posting it",
    "error.internal": (
        "💥 Something went wrong on the bot's side; it has been logged. Please try again."
    ),
    "error.database": (
        "⏳ The bot cannot save requests right now: its database does not answer. Nothing was "
        "made or paid for; please try again in a few minutes."
    ),
    "restarting": (
        "The bot is restarting: nothing was made or paid for. Please ask again in a minute."
    ),
    # The working message, the result and its embed.
    "job.checked": "✅ Your files check out; the video is starting (see below).",
    "job.started": "✅ Your video is starting (see below).",
    "hold.restarted": (
        "🔄 The bot restarted before it could answer this, so nothing was made and nothing was "
        "charged. Please ask again."
    ),
    "job.heading": "🎬 **{title}** for <@{user}>{quoted}",
    "job.waiting": "⏳ Waiting in line: place **{place}** · ready <t:{eta}:R>",
    "job.progress": "{bar} {progress}% · ready <t:{eta}:R>",
    "job.posting": "{bar} 100% · posting it now",
    "job.ready": "<@{user}> your video is ready.",
    "job.too_large": "It is too large to upload here: [open the video]({url}).",
    "job.too_large_long": (
        "It is too large to upload here, and its link is too long for Discord, so only its "
        "first frame is shown."
    ),
    "job.too_large_local": (
        "It is too large to upload here, and this bot's simulated videos stay on its own "
        "machine, so only its first frame is shown."
    ),
    "kind.generate": "Video",
    "kind.pikaffect": "Pikaffect",
    "kind.ingredients": "Video from images",
    "kind.additions": "Addition",
    "kind.swap": "Swap",
    "kind.reprompt": "New prompt",
    "kind.edit": "Edit",
    "kind.inpaint": "Changed area",
    "kind.outpaint": "Wider frame",
    "kind.extend": "Extension",
    "kind.upscale": "Upscale",
    "kind.lipsync": "Lip sync",
    "option.model": "Pika {model}",
    "option.fps": "{fps} fps",
    "option.motion": "motion {motion}",
    "option.seed": "seed {seed}",
    "camera.zoom.in": "zooming in",
    "camera.zoom.out": "zooming out",
    "camera.pan.left": "panning left",
    "camera.pan.right": "panning right",
    "camera.tilt.up": "tilting up",
    "camera.tilt.down": "tilting down",
    "camera.rotate.cw": "turning clockwise",
    "camera.rotate.ccw": "turning counter-clockwise",
    "embed.model": "Model",
    "embed.seed": "Seed",
    "embed.random": "random",
    "embed.aspect_ratio": "Aspect ratio",
    "embed.length": "Length",
    "embed.seconds": "{seconds:g} s",
    "embed.from": "Made from",
    "embed.from_link": "[this video]({link})",
    # The footer names the reactions a result offers, joined by " · ".
    "embed.react.extend": "⏩ extend",
    "embed.react.upscale": "⬆️ upscale",
    "embed.react.reroll": "🔁 re-roll",
    "embed.simulated": "Simulated by this bot's built-in local Pika, not made by Pika",
    "info.job": "Job",
    "info.kind": "Kind",
    "info.status": "Status",
    "info.asked": "Asked",
    "info.video": "Video",
    "info.options": "Options",
    "info.defaults": "Your defaults used",
    "video.uploaded": "uploaded in [the result]({link})",
    "video.linked": "too large to upload; [open it]({url})",
    "video.linked_local": (
        "too large to upload, and kept on the bot's own machine (simulated videos cannot be "
        "opened from Discord)"
    ),
    "video.gone": "the result message was deleted",
    "video.posted": "in [the result]({link})",
    "video.none": "none yet",
    "state.waiting": "waiting in line",
    "state.making": "being made, {progress}%",
    "state.posting": "being posted",
    "state.delivered": "ready",
    "state.failed": "could not be made",
    "state.timed_out": "took too long",
    "state.undeliverable": "could not be posted",
    "button.extend": "Extend",
    "button.upscale": "Upscale",
    "button.reroll": "Re-roll",
    "button.info": "Info",
    "button.retry": "Retry",
    "complete.job": "{title} · {prompt} · {status}",
    "jobs.none": "You have no videos here yet. Try `/pika generate`.",
    "jobs.line": "[{title}]({link}){quoted} · {status} · <t:{asked}:R>",
    "jobs.line_unposted": "{title}{quoted} · {status} · <t:{asked}:R>",
    # The reset time in words of its own: "14 left (in 22 hours)" read as 14 more to come.
    "usage.today": (
        "Today you made **{today}** of your **{quota}**; **{left}** left. The count starts "
        "again {resets}."
    ),
    "usage.running": "• {title}{quoted}: {status}",
    "usage.none_running": "Nothing in the making.",
    "usage.server": "Server today: **{today}** ({quota}), **{running}** in the making.",
    "usage.server_quota": "limit {quota}",
    "usage.no_server_quota": "no limit",
    # A member's own defaults (`/pika settings`).
    "mine.title": "**Your defaults on this server**",
    "mine.line": "{name}: {value}",
    "mine.server_wins": "{value} (the server's default, {server}, applies)",
    "mine.unset": "not set",
    "mine.yes": "yes",
    "mine.no": "no",
    "mine.note": (
        "Options you give with a command always win. Where the server has a default, the "
        "server's wins over yours."
    ),
    "mine.saved": "✅ Saved.",
    "mine.aspect_ratio": "Aspect ratio",
    "mine.model": "Model",
    "mine.motion": "Motion",
    "mine.frame_rate": "Frames per second",
    "mine.guidance_scale": "Closeness to the prompt",
    "mine.negative_prompt": "Avoid",
    "mine.zoom": "Zoom",
    "mine.pan": "Pan",
    "mine.tilt": "Tilt",
    "mine.rotate": "Rotation",
    "mine.mention": "Mention me when a video is ready",
    # Server settings.
    # The settings' names, as owners read them in changes, the audit and the status view.
    "setting.allowed_channels": "Channels",
    "setting.required_role": "Required role",
    "setting.max_running_per_user": "Videos in the making per member",
    "setting.daily_quota_per_user": "Videos per member per day",
    "setting.daily_quota_server": "Videos for the server per day",
    "setting.cooldown_seconds": "Wait between videos",
    "setting.blocked_patterns": "Blocked words",
    "setting.paid_features": "Extend and upscale",
    "setting.defaults": "Default video options",
    "setting.log_channel": "Log channel",
    "setting.timezone": "Quota day's time zone",
    "settings.unchanged": "Nothing changed.",
    "settings.changed": "✅ {lines}",
    "settings.change_line": "**{name}**: {old} → {new}",
    "settings.logged": "🛠️ <@{user}> changed Pika settings:\n{lines}",
    "settings.log_failed": (
        "⚠️ This change could not be posted to the log channel <#{channel}>: it is gone, or "
        "the bot may not post there. Let the bot send messages there, or choose another "
        "channel with `/pika-admin log-channel`."
    ),
    "settings.role_gone": (
        "⚠️ This role no longer exists, so no member can make videos: choose another with "
        "`/pika-admin role`, or none."
    ),
    "settings.channels_all_gone": (
        "⚠️ None of them exists any more, so videos can be made nowhere: allow a channel with "
        "`/pika-admin channel`."
    ),
    "settings.channels_gone": "⚠️ {count} of them no longer exist.",
    "settings.log_gone": (
        "⚠️ This channel no longer exists, so changes are posted nowhere: choose another with "
        "`/pika-admin log-channel`."
    ),
    "settings.defaults_blocked": (
        "⚠️ Its negative prompt holds `{pattern}`, which is blocked here, so every request is "
        "refused: change it with `/pika-admin defaults`, or allow the word again with "
        "`/pika-admin blocked remove`."
    ),
    "settings.none": "none",
    "settings.all_channels": "all channels",
    "settings.no_limit": "no limit",
    "settings.more": "… and {count} more",
    "settings.allowed": "allowed",
    "settings.off": "off",
    "settings.show": (
        "**Channels:** {channels}\n"
        "**Required role:** {role}\n"
        "**Videos in the making per member:** {running}\n"
        "**Videos per member per day:** {daily_member}\n"
        "**Videos for the server per day:** {daily_server}\n"
        "**Wait between videos:** {cooldown} s\n"
        "**Blocked words:** {blocked}\n"
        "**Extend and upscale:** {paid}\n"
        "**Default video options:** {defaults}\n"
        "**Log channel:** {log_channel}\n"
        "**Quota day:** midnight to midnight, {timezone}"
    ),
    # The owner's status view and audit (`/pika-admin status`, `/pika-admin audit`).
    "status.title": "**Pika bot status**",
    "status.never": "the start",
    "status.pika.unknown": "⚪ Pika has not been asked anything yet.",
    "status.pika.ok": "🟢 Pika answers (since {since}).",
    "status.pika.unreachable": "🔴 Pika does not answer (since {since}): jobs fail until it does.",
    "status.pika.failing": "🔴 Pika answers with errors (since {since}).",
    "status.pika.key_refused": (
        "🔴 Pika refuses the bot's key (since {since}): the bot's owner needs to check "
        "PIKA_API_KEY."
    ),
    "status.pika.last_error": "Last Pika error: {text} on `{route}`, {at}.",
    "status.pika.no_error": "No Pika error since the bot started.",
    "status.jobs_now": (
        "**Now:** {running} running, {waiting} waiting here "
        "({running_all} running, {waiting_all} waiting across the bot)."
    ),
    "status.today": "**Today** (since {since}):",
    "status.kind_line": (
        "• {title}: {asked} asked, {delivered} delivered, {failed} failed{why}, "
        "{timed_out} timed out; typically {typical}"
    ),
    "status.why": " ({why})",
    # Why jobs failed, in a word, in the status view (`failure.*` says it at length).
    "why.pika_rate_limited": "Pika busy",
    "why.pika_server": "Pika server error",
    "why.pika_bad_response": "Pika's answer unreadable",
    "why.pika_auth": "key refused",
    "why.pika_plan": "plan or credits",
    "why.pika_rejected": "refused by Pika",
    "why.pika_outcome_unknown": "outcome unknown",
    "why.pika_job_gone": "no longer known to Pika",
    "why.pika": "Pika error",
    "why.unreadable": "result unreadable",
    "why.pika_failed": "failed at Pika",
    "why.invalid": "no longer valid",
    "why.interrupted": "interrupted",
    "why.not_acknowledged": "not answered in time",
    "why.not_sent": "cancelled: the bot stopped",
    "why.internal": "bot error",
    "why.undeliverable": "undeliverable",
    "why.discord": "refused by Discord",
    "status.no_jobs_today": "• No jobs yet.",
    "status.typical_other": "Typical durations of other kinds: {typical}.",
    "status.typical_unknown": "no finished job yet",
    "status.seconds": "{seconds} s",
    "status.minutes": "{minutes} min",
    "status.changes": "**Latest settings changes:**",
    "status.change_line": "• {at} <@{user}> set **{setting}** from {old} to {new}",
    "status.no_changes": "• None yet.",
    "audit.title": "**Settings changes**, newest first (page {page}):",
    "audit.empty": "No setting has been changed yet.",
    "audit.previous": "Newer",
    "audit.next": "Older",
    "audit.not_allowed": "Only members with Manage Server can read the settings audit.",
    # Help.
    "help.simulated": (
        "Videos here are **simulated** by the bot's built-in local Pika: no credits are spent."
    ),
    "help.real": "Videos are made by Pika and use the server owner's credits.",
    "help.guide": (
        "**Pika video bot**\n{mode}\n"
        "Start with `/pika generate`, or attach an image or a video to bring it to life. "
        "{controls} `/pika settings` keeps your own defaults, `/pika jobs` lists your videos "
        "and `/pika usage` shows what is left of your daily limit."
    ),
    # What this server allows on a video: extend and upscale only when its paid features are on.
    "help.controls": (
        "On a result, react with ⏩ to extend it, ⬆️ to upscale it or 🔁 to re-roll it. On any "
        "message with a video, its menu **Apps › {extend}** or **Apps › {upscale}** does the "
        "same."
    ),
    "help.controls_unpaid": (
        "On a result, react with 🔁 to re-roll it. Extending and upscaling videos are turned "
        "off on this server."
    ),
}
