"""Realistic secrets for the redaction tests: each value has its vendor's real format.

The values are assembled from pieces so that this file itself does not look
like a leaked credential to secret scanners. None of them is a live key.
"""

from __future__ import annotations

_ALNUM = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zQ7rT0uW3"

OPENAI = "sk-" + "proj-" + _ALNUM + "x9Yz"
OPENAI_LEGACY = "sk-" + "T3Blbk" + "FJ" + _ALNUM[:40]
ANTHROPIC = "sk-" + "ant-api03-" + _ALNUM + "-" + _ALNUM[::-1] + "AA"
AWS_ACCESS_KEY_ID = "AKIA" + "Q3EXAMPLE7Z2K9PL"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + _ALNUM[:36]
SLACK = "xoxb-" + "123456789012-1234567890123-" + _ALNUM[:24]
STRIPE = "sk_" + "live_" + _ALNUM[:24]
GOOGLE = "AIza" + "SyB" + _ALNUM[:32]
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM_BODY = ("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK")
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA " + "PRIVATE KEY-----"
DB_PASSWORD_IN_URL = "Sup3rS3cretPw"
DATABASE_URL = f"postgres://shop:{DB_PASSWORD_IN_URL}@db.internal:5432/shop"
ADMIN_PASSWORD = "correct horse battery staple"

# value -> the placeholder kind that must replace it
EXPECTED = {
    OPENAI: "openai-key",
    OPENAI_LEGACY: "openai-key",
    ANTHROPIC: "anthropic-key",
    AWS_ACCESS_KEY_ID: "aws-access-key",
    AWS_SECRET: "secret",
    GITHUB: "github-token",
    SLACK: "slack-token",
    STRIPE: "stripe-key",
    GOOGLE: "google-api-key",
    JWT: "jwt",
    PEM: "private-key",
    DB_PASSWORD_IN_URL: "password",
    ADMIN_PASSWORD: "secret",
}

# The parts that must never be seen: every value, and each line of the key block.
NEVER_SENT = (*EXPECTED, *PEM_BODY)


def python_module() -> str:
    """A settings module holding every secret the way real code does."""
    return f'''"""Service settings."""

OPENAI_API_KEY = "{OPENAI}"
LEGACY_KEY = "{OPENAI_LEGACY}"
anthropic_key: str = "{ANTHROPIC}"
AWS_ACCESS_KEY_ID = "{AWS_ACCESS_KEY_ID}"
aws_secret_access_key = "{AWS_SECRET}"
GITHUB_TOKEN = "{GITHUB}"
SLACK_BOT = "{SLACK}"
STRIPE = "{STRIPE}"
MAPS = {{"api_key": "{GOOGLE}"}}
SESSION = "{JWT}"
SIGNING_KEY = """{PEM}"""
DATABASE_URL = "{DATABASE_URL}"
ADMIN_PASSWORD = "{ADMIN_PASSWORD}"
'''
