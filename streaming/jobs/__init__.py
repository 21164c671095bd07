"""The job status APIs: typed job shapes and pure wire decisions, apart from the httpx shells that send the calls.

``shapes`` (the service's models) and ``calls`` (signing a call, reading a reply, when to
poll again) are pure; ``client`` holds :class:`JobsClient` and :class:`BlockingJobsClient`.
The names below load their module when first used (PEP 562), so the shapes never pull in httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy

if TYPE_CHECKING:
    from .calls import (
        JobRequest,
        WaitPlan,
        build_request,
        default_jobs_endpoint,
        parse_response,
    )
    from .client import (
        BlockingJobsClient,
        JobsClient,
    )
    from .shapes import (
        CallAnalyticsJob,
        CallAnalyticsJobDetails,
        CallAnalyticsJobSettings,
        CallAnalyticsSkippedFeature,
        ChannelDefinition,
        ContentRedaction,
        EnrollmentConfig,
        EnrollmentJobFraudDetectionConfig,
        FailureDetails,
        InputDataConfig,
        Job,
        JobExecutionSettings,
        JobFailedError,
        JobProgress,
        JobTranscript,
        JobWaitTimeout,
        LanguageCodeItem,
        LanguageIdSettings,
        Media,
        MedicalTranscriptionJob,
        MedicalTranscriptionSetting,
        ModelSettings,
        OutputDataConfig,
        SpeakerEnrollmentJob,
        SpeakerEnrollmentJobStatus,
        SubtitlesOutput,
        Summarization,
        Tag,
        ToxicityDetectionSettings,
        TranscriptionJob,
        TranscriptionJobSettings,
        TranscriptionJobStatus,
    )

__all__ = [
    "BlockingJobsClient",
    "CallAnalyticsJob",
    "CallAnalyticsJobDetails",
    "CallAnalyticsJobSettings",
    "CallAnalyticsSkippedFeature",
    "ChannelDefinition",
    "ContentRedaction",
    "EnrollmentConfig",
    "EnrollmentJobFraudDetectionConfig",
    "FailureDetails",
    "InputDataConfig",
    "Job",
    "JobExecutionSettings",
    "JobFailedError",
    "JobProgress",
    "JobRequest",
    "JobTranscript",
    "JobWaitTimeout",
    "JobsClient",
    "LanguageCodeItem",
    "LanguageIdSettings",
    "Media",
    "MedicalTranscriptionJob",
    "MedicalTranscriptionSetting",
    "ModelSettings",
    "OutputDataConfig",
    "SpeakerEnrollmentJob",
    "SpeakerEnrollmentJobStatus",
    "SubtitlesOutput",
    "Summarization",
    "Tag",
    "ToxicityDetectionSettings",
    "TranscriptionJob",
    "TranscriptionJobSettings",
    "TranscriptionJobStatus",
    "WaitPlan",
    "build_request",
    "default_jobs_endpoint",
    "parse_response",
]

_WHERE: dict[str, str] = {
    "BlockingJobsClient": "client",
    "CallAnalyticsJob": "shapes",
    "CallAnalyticsJobDetails": "shapes",
    "CallAnalyticsJobSettings": "shapes",
    "CallAnalyticsSkippedFeature": "shapes",
    "ChannelDefinition": "shapes",
    "ContentRedaction": "shapes",
    "EnrollmentConfig": "shapes",
    "EnrollmentJobFraudDetectionConfig": "shapes",
    "FailureDetails": "shapes",
    "InputDataConfig": "shapes",
    "Job": "shapes",
    "JobExecutionSettings": "shapes",
    "JobFailedError": "shapes",
    "JobProgress": "shapes",
    "JobRequest": "calls",
    "JobTranscript": "shapes",
    "JobWaitTimeout": "shapes",
    "JobsClient": "client",
    "LanguageCodeItem": "shapes",
    "LanguageIdSettings": "shapes",
    "Media": "shapes",
    "MedicalTranscriptionJob": "shapes",
    "MedicalTranscriptionSetting": "shapes",
    "ModelSettings": "shapes",
    "OutputDataConfig": "shapes",
    "SpeakerEnrollmentJob": "shapes",
    "SpeakerEnrollmentJobStatus": "shapes",
    "SubtitlesOutput": "shapes",
    "Summarization": "shapes",
    "Tag": "shapes",
    "ToxicityDetectionSettings": "shapes",
    "TranscriptionJob": "shapes",
    "TranscriptionJobSettings": "shapes",
    "TranscriptionJobStatus": "shapes",
    "WaitPlan": "calls",
    "build_request": "calls",
    "default_jobs_endpoint": "calls",
    "parse_response": "calls",
}


__getattr__ = _lazy.lazy_names(__name__, _WHERE, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
