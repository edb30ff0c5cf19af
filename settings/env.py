"""Settings overrides read from environment variables (pure: the mapping is passed in).

Only our own knobs live here. boto3 already reads its standard variables itself
(AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, ...), so we
neither copy them into settings nor ever hold credentials in settings.
"""

from __future__ import annotations

from collections.abc import Mapping

#: environment variable -> Scrapy setting it overrides
ENV_SETTINGS: dict[str, str] = {
    "NEWSARCHIVE_STORE": "ARCHIVE_URI",
    "NEWSARCHIVE_S3_ADDRESSING_STYLE": "ARCHIVE_S3_ADDRESSING_STYLE",
    "NEWSARCHIVE_USER_AGENT": "USER_AGENT",
    "NEWSARCHIVE_SPOOL_DIR": "ARCHIVE_SPOOL_DIR",
    "NEWSARCHIVE_BLOCK_PRIVATE_ADDRESSES": "ARCHIVE_BLOCK_PRIVATE_ADDRESSES",
    "NEWSARCHIVE_RENDER_BROWSER": "RENDER_BROWSER",
}


def overrides_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the settings that non-empty ``NEWSARCHIVE_*`` variables override."""
    return {
        setting: environ[name]
        for name, setting in ENV_SETTINGS.items()
        if environ.get(name, "").strip()
    }
