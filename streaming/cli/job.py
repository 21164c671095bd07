"""``streamscribe job``: get or wait for a transcription, medical, Call Analytics or Voice ID job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .common import CliError, check_ca, credentials_from_args, note

__all__ = ["job"]

_JOB_EXIT = {"COMPLETED": 0, "FAILED": 3, "COMPLETED_WITH_ERRORS": 4}
_JOB_RUNNING_EXIT = 5  # get: still QUEUED / IN_PROGRESS / SUBMITTED
_JOB_TIMEOUT_EXIT = 6  # wait: still running at --timeout


def job(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from ..jobs import BlockingJobsClient, Job, JobFailedError, JobWaitTimeout, default_jobs_endpoint  # noqa: PLC0415

    if args.speaker_enrollment and not args.domain_id:
        raise CliError("--speaker-enrollment needs --domain-id (the Voice ID domain)")
    if args.domain_id and not args.speaker_enrollment:
        raise CliError("--domain-id is for --speaker-enrollment jobs")
    check_ca(args.ca)
    service = "voiceid" if args.speaker_enrollment else "transcribe"
    endpoint = args.endpoint or default_jobs_endpoint(service, args.region)
    from ..proto.endpoints import check_endpoint, check_region  # noqa: PLC0415

    check_region(args.region)
    check_endpoint(endpoint, "api")
    credentials = credentials_from_args(args, endpoint)
    tty = sys.stderr.isatty()

    def progress(job: Any) -> None:
        if tty:
            percent = getattr(getattr(job, "job_progress", None), "percent_complete", None)
            extra = f" {percent}%" if percent is not None else ""
            print(f"\r\x1b[K{job.name}: {job.raw_status}{extra}", end="", file=sys.stderr, flush=True)

    get: Callable[..., Job]
    wait: Callable[..., Job]
    with BlockingJobsClient(args.region, credentials, endpoint=endpoint, ca_file=args.ca) as client:
        ids: tuple[str, ...] = (args.name,)
        if args.speaker_enrollment:
            ids = (args.domain_id, args.name)
            get, wait = client.describe_speaker_enrollment_job, client.wait_for_speaker_enrollment_job
        elif args.medical:
            get, wait = client.get_medical_transcription_job, client.wait_for_medical_transcription_job
        elif args.call_analytics:
            get, wait = client.get_call_analytics_job, client.wait_for_call_analytics_job
        else:
            get, wait = client.get_transcription_job, client.wait_for_transcription_job
        timed_out = False
        job: Job
        try:
            job = get(*ids) if args.action == "get" else wait(*ids, timeout=args.timeout, progress=progress)
        except JobFailedError as exc:
            job = exc.job
        except JobWaitTimeout as exc:
            job, timed_out = exc.job, True
        finally:
            if tty and args.action == "wait":
                print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if args.output == "json":
        print(json.dumps({_response_key(job): _cli_document(job)}, indent=4))
    else:
        print(_job_text(job))
    if timed_out:
        note(f"still {job.raw_status} after {args.timeout:g} s")
        return _JOB_TIMEOUT_EXIT
    if args.action == "get" and not args.exit_status:
        return 0  # the call succeeded; the job's status is in what was printed
    return _JOB_EXIT.get(job.raw_status or "", _JOB_RUNNING_EXIT)


def _response_key(job: Any) -> str:
    """The member the service's Get/Describe response wraps the job in."""
    name = type(job).__name__
    return "Job" if name == "SpeakerEnrollmentJob" else name


def _cli_document(job: Any) -> Any:
    """The job as the aws CLI (v2) prints it: wire names, fields the model does not know
    kept, and timestamps (epoch seconds on the wire) in ISO 8601 with their UTC offset."""
    import datetime as dt  # noqa: PLC0415

    import msgspec  # noqa: PLC0415

    def convert(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dict):
            extra = value.pop("__extra_fields__", None) or {}
            return {k: convert(v) for k, v in {**value, **extra}.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(msgspec.to_builtins(job, builtin_types=(dt.datetime,)))


def _job_text(job: Any) -> str:
    lines = [f"{job.name}: {job.raw_status}"]
    for label, value in (
        ("failure", job.failure),
        ("language", getattr(job, "language_code", None)),
        ("transcript", getattr(getattr(job, "transcript", None), "transcript_file_uri", None)),
        ("redacted transcript", getattr(getattr(job, "transcript", None), "redacted_transcript_file_uri", None)),
        ("created", getattr(job, "creation_time", None) or getattr(job, "created_at", None)),
        ("completed", getattr(job, "completion_time", None) or getattr(job, "ended_at", None)),
        ("progress", getattr(getattr(job, "job_progress", None), "percent_complete", None)),
    ):
        if value is not None:
            lines.append(f"  {label}: {value}")
    return "\n".join(lines)


# -- credentials -----------------------------------------------------------------------------
