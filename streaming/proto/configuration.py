"""The rules of a stream's configuration, pure, in one place for the client and the endpoint.

The ConfigurationEvent's ``ChannelDefinitions`` and ``PostCallAnalyticsSettings`` are
checked with the same functions by the client (before connecting) and the local endpoint
(when the event arrives); :func:`check_source_channels` says whether audio with a given
number of channels fits the stream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from .audioformat import AudioFormat
from .errors import ParameterError
from .params import Operation, StreamParams

__all__ = ["check_channel_definitions", "check_post_call_settings", "check_source_channels"]

_MAX_URI: Final = 2000  # the service's bound on an S3 URI (Media.MediaFileUri, OutputLocation)
_S3_URI_RE: Final = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?")
_ROLE_ARN_RE: Final = re.compile(r"arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/\-]{1,1023}")
_POST_CALL_KEYS: Final = frozenset(
    {"OutputLocation", "DataAccessRoleArn", "ContentRedactionOutput", "OutputEncryptionKMSKeyId"}
)


_ROLES: Final = ("AGENT", "CUSTOMER")


def check_channel_definitions(definitions: object) -> dict[int, str]:
    """ChannelDefinitions as the service checks them (the role of each channel), or
    :class:`ParameterError`: exactly two entries, ChannelId 0 and 1, each with its own
    ParticipantRole (AGENT or CUSTOMER). The client checks before connecting and the local
    endpoint when the ConfigurationEvent arrives, with this one rule."""
    name = "channel_definitions"
    shape = "{'ChannelId': 0|1, 'ParticipantRole': 'AGENT'|'CUSTOMER'}"
    if not isinstance(definitions, Sequence) or isinstance(definitions, str | bytes):
        raise ParameterError(name, f"ChannelDefinitions must be a list of {shape}")
    roles: dict[int, str] = {}
    for i, definition in enumerate(definitions):
        if not isinstance(definition, Mapping):
            raise ParameterError(name, f"ChannelDefinitions[{i}] must be {shape}, not {definition!r:.80}")
        channel, role = definition.get("ChannelId"), definition.get("ParticipantRole")
        if type(channel) is not int or channel not in (0, 1) or role not in _ROLES:
            raise ParameterError(name, f"ChannelDefinitions[{i}] must be {shape}, not {dict(definition)!r:.120}")
        roles[channel] = str(role)
    if len(definitions) != 2 or sorted(roles) != [0, 1] or len(set(roles.values())) != 2:
        raise ParameterError(
            name,
            "ChannelDefinitions holds exactly two entries, ChannelId 0 and 1, each with its own ParticipantRole "
            "(one AGENT, one CUSTOMER); for mono audio leave it out",
        )
    return roles


def check_post_call_settings(settings: object) -> dict[str, str]:
    """PostCallAnalyticsSettings as the service checks them, or :class:`ParameterError`.

    ``OutputLocation`` (an ``s3://`` URI) and ``DataAccessRoleArn`` (an IAM role ARN) are
    required; ``ContentRedactionOutput`` is ``redacted`` or ``redacted_and_unredacted``;
    ``OutputEncryptionKMSKeyId`` is a key id, ARN or alias.
    """
    name = "post_call_analytics_settings"
    if not isinstance(settings, Mapping):
        raise ParameterError(name, f"PostCallAnalyticsSettings must be an object, not {type(settings).__name__}")
    unknown = sorted(set(settings) - _POST_CALL_KEYS)
    if unknown:
        raise ParameterError(name, f"PostCallAnalyticsSettings has unknown fields: {', '.join(map(str, unknown))}")
    values = {str(k): v for k, v in settings.items()}
    for key in ("OutputLocation", "DataAccessRoleArn"):
        if not isinstance(values.get(key), str) or not values[key]:
            raise ParameterError(name, f"PostCallAnalyticsSettings.{key} is required")
    if len(values["OutputLocation"]) > _MAX_URI or not _S3_URI_RE.fullmatch(values["OutputLocation"]):
        raise ParameterError(
            name,
            f"PostCallAnalyticsSettings.OutputLocation {values['OutputLocation']!r:.120} must be an s3:// URI "
            f"of at most {_MAX_URI} characters",
        )
    if not _ROLE_ARN_RE.fullmatch(values["DataAccessRoleArn"]):
        raise ParameterError(
            name,
            f"PostCallAnalyticsSettings.DataAccessRoleArn {values['DataAccessRoleArn']!r} must be an IAM role ARN "
            "(arn:aws:iam::123456789012:role/Name)",
        )
    redaction = values.get("ContentRedactionOutput")
    if redaction is not None and redaction not in ("redacted", "redacted_and_unredacted"):
        raise ParameterError(
            name,
            "PostCallAnalyticsSettings.ContentRedactionOutput must be redacted or redacted_and_unredacted, "
            f"not {redaction!r}",
        )
    kms_key = values.get("OutputEncryptionKMSKeyId")
    if kms_key is not None and (not isinstance(kms_key, str) or not 1 <= len(kms_key) <= 2048):
        raise ParameterError(name, "PostCallAnalyticsSettings.OutputEncryptionKMSKeyId must be a key id, ARN or alias")
    return {k: str(v) for k, v in values.items()}


def check_source_channels(params: StreamParams, configuration: Mapping[str, object] | None, channels: int) -> None:
    """Raise :class:`ParameterError` when audio with ``channels`` channels does not fit the
    stream: interleaved stereo sent as mono is transcribed as confident nonsense.

    Standard and medical streams take two channels with channel identification
    (``number_of_channels=2``); Call Analytics with a ChannelDefinition for each channel.
    """
    expected = AudioFormat.of(params, configuration).channels  # as the operation counts them
    if channels == expected:
        return
    if params.operation is Operation.CALL_ANALYTICS:
        if channels == 2:
            raise ParameterError(
                "channel_definitions",
                "the audio has 2 channels: give channel_definitions for channel 0 and 1 "
                "(AGENT and CUSTOMER; --channel-roles AGENT,CUSTOMER), or mix it down to mono",
            )
        if channels == 1:
            raise ParameterError(
                "channel_definitions",
                "channel_definitions name two channels, so the service reads the audio as interleaved stereo, "
                "but this audio is mono: leave channel_definitions out, or send the call's two channels",
            )
        return
    if channels == 2:
        raise ParameterError(
            "number_of_channels",
            "the audio has 2 channels but the stream was opened for 1: pass enable_channel_identification=True "
            "and number_of_channels=2 to transcribe each channel apart, or mix it down to mono",
        )
    raise ParameterError(
        "number_of_channels",
        f"the audio has {channels} channel(s) but the stream was opened for number_of_channels={expected}",
    )
