"""Decisions rendered as TwiML, with twilio's own ``VoiceResponse``."""

from __future__ import annotations

import re
from collections.abc import Callable

from twilio.twiml.voice_response import Gather, VoiceResponse

from callguard.domain.caller_match import Decision
from callguard.domain.speech import caller_hears, connect_notice
from callguard.policy import Policy
from callguard.urls import Callbacks, conference_name

# needs_extra_time (§2.1): slower speech, longer pauses and messages.
SLOW_RATE = "85%"
PAUSE_S = 5
RING_TIMEOUT_S = 25


class Speaker:
    """Says things in the office's voice, slower for callers who need extra time."""

    def __init__(self, policy: Policy, extra_time: bool) -> None:
        self.voice = policy.office.voice
        self.language = policy.office.language
        self.extra_time = extra_time

    def say(self, parent: VoiceResponse | Gather, text: str) -> None:
        if self.extra_time:
            element = parent.say(voice=self.voice, language=self.language)
            element.prosody(text, rate=SLOW_RATE)
        else:
            parent.say(text, voice=self.voice, language=self.language)


# Building TwiML with VoiceResponse costs ~0.2 ms, a fifth of the least an inbound call
# needs (docs/performance.md). An inbound call's answer (connected or refused) differs from
# another of the same shape only in its CallSid, so it is built once per shape with this
# stand-in SID (never a real one: not hex) and the call's SID put in its place.
_SID_SLOT = "CA" + "x" * 32
_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_DOCUMENTS_MAX = 256
_documents: dict[tuple[object, ...], str] = {}


def _once_per_shape(shape: tuple[object, ...], call_sid: str, build: Callable[[str], str]) -> str:
    """``build(call_sid)``, from the document built for ``shape`` with the stand-in SID.
    ``shape`` must hold everything ``build`` reads besides the SID."""
    if not _SID.fullmatch(call_sid):  # needs no escaping only in this shape
        return build(call_sid)
    document = _documents.get(shape)
    if document is None:
        if len(_documents) >= _DOCUMENTS_MAX:
            _documents.clear()
        document = _documents[shape] = build(_SID_SLOT)
    return document.replace(_SID_SLOT, call_sid)


def connect(decision: Decision, policy: Policy, callbacks: Callbacks, call_sid: str) -> str:
    """Hold the caller in a conference named after the call; the other leg is dialled in."""
    shape = (
        "connect",
        tuple(connect_notice(decision, policy)),
        decision.extra_time,
        decision.max_minutes,
        decision.recorded,
        policy.office.voice,
        policy.office.language,
        callbacks.base,
    )
    return _once_per_shape(shape, call_sid, lambda sid: _connect(decision, policy, callbacks, sid))


def _connect(decision: Decision, policy: Policy, callbacks: Callbacks, call_sid: str) -> str:
    response = VoiceResponse()
    speaker = Speaker(policy, decision.extra_time)
    for line in connect_notice(decision, policy):
        speaker.say(response, line)
    dial_options: dict[str, object] = {}
    if decision.max_minutes is not None:
        dial_options["time_limit"] = decision.max_minutes * 60
    dial = response.dial(**dial_options)
    conference_options: dict[str, object] = {}
    if decision.recorded:
        conference_options["record"] = "record-from-start"
        conference_options["recording_status_callback"] = callbacks.recording(call_sid)
        conference_options["recording_status_callback_method"] = "POST"
    dial.conference(
        conference_name(call_sid),
        participant_label="caller",
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        beep=False,
        status_callback=callbacks.conference(call_sid),
        status_callback_method="POST",
        status_callback_event="start end join leave announcement",
        **conference_options,
    )
    return str(response)


def refuse(decision: Decision, policy: Policy, callbacks: Callbacks, call_sid: str) -> str:
    """Why, when they may next call, how else to get in touch, the emergency advice; then
    the option for a different matter (§3.8) and a message (§3.10, §8.7)."""
    shape = (
        "refuse",
        tuple(caller_hears(decision, policy)),
        decision.extra_time,
        policy.office.voice,
        policy.office.language,
        policy.messages.extra_time_factor,
        policy.messages.offer,
        policy.messages.max_seconds,
        policy.new_matter.prompt,
        callbacks.base,
    )
    return _once_per_shape(shape, call_sid, lambda sid: _refuse(decision, policy, callbacks, sid))


def _refuse(decision: Decision, policy: Policy, callbacks: Callbacks, call_sid: str) -> str:
    response = VoiceResponse()
    speaker = Speaker(policy, decision.extra_time)
    for line in caller_hears(decision, policy):
        speaker.say(response, line)
    timeout_s = PAUSE_S * (policy.messages.extra_time_factor if decision.extra_time else 1)
    gather = response.gather(
        num_digits=1, action=callbacks.gather(call_sid), method="POST", timeout=timeout_s
    )
    speaker.say(gather, policy.new_matter.prompt)
    _offer_message(response, speaker, policy, callbacks, call_sid, decision.extra_time)
    return str(response)


def _offer_message(
    response: VoiceResponse,
    speaker: Speaker,
    policy: Policy,
    callbacks: Callbacks,
    call_sid: str,
    extra_time: bool,
    *,
    new_matter: bool = False,
    for_spoc: bool = False,
    intro: str | None = None,
) -> None:
    factor = policy.messages.extra_time_factor if extra_time else 1
    speaker.say(response, intro or policy.messages.offer)
    response.record(
        action=callbacks.message(call_sid, new_matter=new_matter, for_spoc=for_spoc),
        method="POST",
        max_length=policy.messages.max_seconds * factor,
        timeout=PAUSE_S * factor,
        play_beep=True,
        finish_on_key="#",
    )
    speaker.say(response, "No message was recorded. Goodbye.")


def leave_message(
    policy: Policy,
    callbacks: Callbacks,
    call_sid: str,
    *,
    extra_time: bool,
    lines: list[str],
    new_matter: bool = False,
    for_spoc: bool = False,
    intro: str | None = None,
) -> str:
    response = VoiceResponse()
    speaker = Speaker(policy, extra_time)
    for line in lines:
        speaker.say(response, line)
    _offer_message(
        response,
        speaker,
        policy,
        callbacks,
        call_sid,
        extra_time,
        new_matter=new_matter,
        for_spoc=for_spoc,
        intro=intro,
    )
    return str(response)


def say_then_hang_up(policy: Policy, lines: list[str], *, extra_time: bool = False) -> str:
    response = VoiceResponse()
    speaker = Speaker(policy, extra_time)
    for line in lines:
        speaker.say(response, line)
    response.hangup()
    return str(response)


def say_only(policy: Policy, lines: list[str]) -> str:
    """For announcements into a live conference: speech, then back to the call."""
    response = VoiceResponse()
    speaker = Speaker(policy, False)
    for line in lines:
        speaker.say(response, line)
    return str(response)


def direct_dial(policy: Policy, route: str) -> str:
    """Fail-open and fallback TwiML: a plain <Dial> to the default route, relying on
    nothing but Twilio itself."""
    response = VoiceResponse()
    Speaker(policy, False).say(response, policy.connect.greeting)
    dial = response.dial(timeout=RING_TIMEOUT_S)
    if route.startswith("sip:"):
        dial.sip(route)
    elif route.startswith("client:"):
        dial.client(route.removeprefix("client:"))
    else:
        dial.number(route)
    return str(response)
