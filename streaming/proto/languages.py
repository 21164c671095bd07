"""The service's lists: the languages each operation takes, and the PII entity types it knows."""

from __future__ import annotations

from typing import Final

__all__ = [
    "CALL_ANALYTICS_LANGUAGE_CODES",
    "LANGUAGE_CODES",
    "MEDIA_ENCODINGS",
    "MEDICAL_LANGUAGE_CODES",
    "PII_ENTITY_TYPES",
    "PII_LANGUAGE_CODES",
]

LANGUAGE_CODES: Final = frozenset(
    [
        "af-ZA",
        "am-ET",
        "ar-AE",
        "ar-SA",
        "be-BY",
        "bg-BG",
        "bn-IN",
        "bs-BA",
        "ca-ES",
        "ckb-IQ",
        "ckb-IR",
        "cs-CZ",
        "cy-WL",
        "da-DK",
        "de-CH",
        "de-DE",
        "el-GR",
        "en-AB",
        "en-AU",
        "en-GB",
        "en-IE",
        "en-IN",
        "en-NZ",
        "en-US",
        "en-WL",
        "en-ZA",
        "es-ES",
        "es-MX",
        "es-US",
        "et-ET",
        "eu-ES",
        "fa-AF",
        "fa-IR",
        "fi-FI",
        "fr-CA",
        "fr-FR",
        "gl-ES",
        "gu-IN",
        "he-IL",
        "hi-IN",
        "hr-HR",
        "ht-HT",
        "hu-HU",
        "hy-AM",
        "id-ID",
        "is-IS",
        "it-IT",
        "ja-JP",
        "jv-ID",
        "ka-GE",
        "kab-DZ",
        "kk-KZ",
        "km-KH",
        "kn-IN",
        "ko-KR",
        "lg-IN",
        "lt-LT",
        "lv-LV",
        "mk-MK",
        "ml-IN",
        "mr-IN",
        "ms-MY",
        "my-MM",
        "ne-NP",
        "nl-NL",
        "no-NO",
        "or-IN",
        "pa-IN",
        "pl-PL",
        "ps-AF",
        "pt-BR",
        "pt-PT",
        "ro-RO",
        "ru-RU",
        "si-LK",
        "sk-SK",
        "sl-SI",
        "so-SO",
        "sq-AL",
        "sr-RS",
        "su-ID",
        "sv-SE",
        "sw-BI",
        "sw-KE",
        "sw-RW",
        "sw-TZ",
        "sw-UG",
        "ta-IN",
        "te-IN",
        "th-TH",
        "tl-PH",
        "tr-TR",
        "uk-UA",
        "uz-UZ",
        "vi-VN",
        "zh-CN",
        "zh-HK",
        "zh-TW",
        "zu-ZA",
    ]
)
"""Languages of StartStreamTranscription (the service model's LanguageCode)."""
CALL_ANALYTICS_LANGUAGE_CODES: Final = frozenset(
    ["de-DE", "en-AU", "en-GB", "en-US", "es-US", "fr-CA", "fr-FR", "it-IT", "pt-BR"]
)
MEDICAL_LANGUAGE_CODES: Final = frozenset({"en-US"})
MEDIA_ENCODINGS: Final = ("pcm", "flac", "ogg-opus")
PII_ENTITY_TYPES: Final = frozenset(
    [
        "BANK_ACCOUNT_NUMBER",
        "BANK_ROUTING",
        "CREDIT_DEBIT_NUMBER",
        "CREDIT_DEBIT_CVV",
        "CREDIT_DEBIT_EXPIRY",
        "PIN",
        "EMAIL",
        "ADDRESS",
        "NAME",
        "PHONE",
        "SSN",
        "ALL",
    ]
)
PII_LANGUAGE_CODES: Final = frozenset(
    # The guide's "Redacting or identifying PII in a real-time stream": the dialects whose
    # streams may ask for PII identification or redaction.
    [
        "en-AB", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN", "en-NZ", "en-US", "en-WL", "en-ZA",
        "es-US", "es-ES", "fr-FR", "fr-CA", "pt-PT", "pt-BR", "it-IT", "de-DE", "de-CH",
    ]
)  # fmt: skip
