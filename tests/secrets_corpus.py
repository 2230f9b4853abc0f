"""Realistic secrets for the redaction tests: each value has its vendor's real format.

The values are assembled from pieces so that this file itself does not look
like a leaked credential to secret scanners. None of them is a live key.
"""

from __future__ import annotations

import re

_ALNUM = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zQ7rT0uW3"
_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

OPENAI = "sk-" + "proj-" + _ALNUM + "x9Yz"
OPENAI_LEGACY = "sk-" + "T3Blbk" + "FJ" + _ALNUM[:40]
ANTHROPIC = "sk-" + "ant-api03-" + _ALNUM + "-" + _ALNUM[::-1] + "AA"
AWS_ACCESS_KEY_ID = "AKIA" + "Q3EXAMPLE7Z2K9PL"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + _ALNUM[:36]
SLACK = "xoxb-" + "123456789012-1234567890123-" + _ALNUM[:24]
SLACK_APP = "xapp-" + "1-A0123456789-1234567890123-" + _HEX
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
AT_SIGN_PASSWORD = "p@ss/w0rd@2024"  # unencoded "@" and "/" in a URL's password
BROKER_URL = f"amqp://app:{AT_SIGN_PASSWORD}@mq.internal:5672/jobs"
ADMIN_PASSWORD = "correct horse battery staple"
BEARER = "bearer" + _ALNUM[:28]
BASIC_IN_CURL = "dXNlcjpodW50ZXIyLWN1cmw="

# Secrets given to names outside the usual word list, in containers and in other shapes.
DB_PASS = "Tr0ub4dor-db-7731"
SMTP_PW = "smtp-Pw-58QzLk"
KEYWORD_PW = "kw-pw-Hq93Lxv"
PASSWD = "passwd-Zx81Qwe"
FTP_PWD = "pwd-Lk22Vbn"
CREDENTIALS = "cred-Mn47Rtz"
PRIVATE = "private-Qp63Wsa"
ODBC_PWD = "odbc-Pwd-91Kxq"
ADO_PASSWORD = "ado-Pass-44Jnm"
LIBPQ_PASSWORD = "libpq-Pw-72Cer"
JDBC_PASSWORD = "jdbc-Pw-35Tyu"
BASIC_CREDENTIAL = "YWRtaW46aHVudGVyMi1iYXNpYw=="
HEADER_TOKEN = "tok-9f8e7d6c5b4a3f2e"
ENVIRON_ITEM = "environ-Pw-18Ghj"
CONFIG_ITEM = "cfg-Pw-27Ujk"
SETDEFAULT = "setdefault-Tok-39Ikl"
ENVIRON_DEFAULT = "getdefault-Pw-40Olp"
GETENV_DEFAULT = "getenv-Tok-51Pmq"
LISTED_KEY = "list-Key-62Qnr"
DICT_TOKEN = "dict-Tok-73Ros"
AUTH_TUPLE = "tuple-Pw-84Spt"
PARENTHESISED = "paren-Pw-95Tqu"
SPLIT_PARTS = ("black-Part-One-06Urv", "black-Part-Two-17Vsw")
QUOTED_ANNOTATION = "annot-Key-28Wtx"
CONCATENATED = ("concat-One-39Xuy", "concat-Two-40Yvz")

# value -> the placeholder kind that must replace it
EXPECTED = {
    OPENAI: "openai-key",
    OPENAI_LEGACY: "openai-key",
    ANTHROPIC: "anthropic-key",
    AWS_ACCESS_KEY_ID: "aws-access-key",
    AWS_SECRET: "secret",
    GITHUB: "github-token",
    SLACK: "slack-token",
    SLACK_APP: "slack-token",
    STRIPE: "stripe-key",
    GOOGLE: "google-api-key",
    JWT: "jwt",
    PEM: "private-key",
    DB_PASSWORD_IN_URL: "password",
    AT_SIGN_PASSWORD: "password",
    ADMIN_PASSWORD: "secret",
    BEARER: "token",
    BASIC_IN_CURL: "token",
    **dict.fromkeys(
        (
            DB_PASS, SMTP_PW, KEYWORD_PW, PASSWD, FTP_PWD, CREDENTIALS, PRIVATE, ODBC_PWD, ADO_PASSWORD,
            LIBPQ_PASSWORD, JDBC_PASSWORD, BASIC_CREDENTIAL, HEADER_TOKEN, ENVIRON_ITEM, CONFIG_ITEM,
            SETDEFAULT, ENVIRON_DEFAULT, GETENV_DEFAULT, LISTED_KEY, DICT_TOKEN, AUTH_TUPLE,
            PARENTHESISED, *SPLIT_PARTS, QUOTED_ANNOTATION, *CONCATENATED,
        ),
        "secret",
    ),
}

# The parts that must never be seen: every value, and each line of the key block.
NEVER_SENT = (*EXPECTED, *PEM_BODY)


# name -> the secret a settings module assigns to it, as a plain string literal
ASSIGNED = {
    "OPENAI_API_KEY": OPENAI,
    "LEGACY_KEY": OPENAI_LEGACY,
    "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY_ID,
    "aws_secret_access_key": AWS_SECRET,
    "GITHUB_TOKEN": GITHUB,
    "SLACK_BOT": SLACK,
    "SLACK_SOCKET_MODE": SLACK_APP,
    "STRIPE": STRIPE,
    "SESSION": JWT,
    "DATABASE_URL": DATABASE_URL,
    "BROKER_URL": BROKER_URL,
    "ADMIN_PASSWORD": ADMIN_PASSWORD,
    "DB_PASS": DB_PASS,
    "SMTP_PW": SMTP_PW,
    "MYSQL_PASSWD": PASSWD,
    "FTP_PWD": FTP_PWD,
    "credentials": CREDENTIALS,
    "private": PRIVATE,
}


def python_module() -> str:
    """A settings module holding every secret the way real code does."""
    assigned = "\n".join(f'{name} = "{value}"' for name, value in ASSIGNED.items())
    return f'''"""Service settings."""
import os

{assigned}
anthropic_key: str = "{ANTHROPIC}"
MAPS = {{"api_key": "{GOOGLE}"}}
SIGNING_KEY = """{PEM}"""
CURL_EXAMPLE = 'curl -H "Authorization: Bearer {BEARER}" https://api.example.com/v1/me'
CURL_BASIC = 'curl -H "Authorization: Basic {BASIC_IN_CURL}" https://api.example.com/v1/me'
ODBC = "DRIVER={{ODBC Driver 18}};SERVER=db;UID=sa;PWD={ODBC_PWD};Encrypt=yes"
ADO = "Server=db;Database=shop;User Id=sa;Password={ADO_PASSWORD};"
LIBPQ = "dbname=shop user=app password={LIBPQ_PASSWORD} host=db"
JDBC = "jdbc:mysql://db:3306/shop?user=app&password={JDBC_PASSWORD}"
BASIC_HEADERS = {{"Authorization": "Basic {BASIC_CREDENTIAL}"}}
TOKEN_HEADERS = {{"Authorization": "Token {HEADER_TOKEN}"}}
os.environ.setdefault("API_TOKEN", "{SETDEFAULT}")
DB_PASSWORD = os.environ.get("DB_PASSWORD", "{ENVIRON_DEFAULT}")
X_TOKEN = os.getenv("X_TOKEN", "{GETENV_DEFAULT}")
API_KEYS = ["{LISTED_KEY}"]
TOKENS = {{"prod": "{DICT_TOKEN}"}}
password = ("{PARENTHESISED}")
SECRET_KEY = (
    "{SPLIT_PARTS[0]}"
    "{SPLIT_PARTS[1]}"
)
PASSWORD = "{CONCATENATED[0]}" + "{CONCATENATED[1]}"


def configure(cfg: dict[str, str]) -> None:
    os.environ["DB_PASSWORD"] = "{ENVIRON_ITEM}"
    cfg["password"] = "{CONFIG_ITEM}"


def connect(api_key: "str" = "{QUOTED_ANNOTATION}") -> object:
    return login(user="app", pw="{KEYWORD_PW}", auth=("admin", "{AUTH_TUPLE}"))
'''


# Secrets outside assignments to secret-looking names: in comments and docstrings, under
# innocuous names, in templates, as arguments and returns (issue 9's measurement, every kind).
COMMENT_ADMIN = "Wint3r-Adm1n-2024!"
COMMENT_PASSWORD = "cmt-Pw-83Hdk"
COMMENT_KEY = "cmtKey-55Lqp0"
COMMENT_TOKEN = "cmt_tok_19Zmw"
DOCSTRING_STAGING = "stg-Db-Pw-4417"
DOCSTRING_INDENTED = "doc-Pw-62Nrt"
BANNER = "hunter2-" + "Banner-7731"  # a password under an innocuous name, passed to login()
MAILGUN = "key-" + "3ax6xnjp29jd6fds4gc373sgvjxteol0"
HEROKU = "01234567-89ab-" + "cdef-0123-456789abcdef"
TEMPLATE_PART = "-9f8e7d6c5b4a-" + "whsecret-5531"
POSITIONAL_SMTP = "PositionalSmtpPass-3131"
CONNECT_PW = "connect-Pw-907Lk"
SET_PASSWORD = "set-Pw-11Mxe"
RETURNED_KEY = "returned-Key-24Opq"
RETURNED_ONE_LINE = "oneline-Tok-35Rst"
BASIC_BARE = "cmVkOmh1bnRlcjItYmFyZQ=="  # base64 of red:hunter2-bare
HIGH_ENTROPY = "Zf3D0LXCM3EIMbgJ" + "pUNnkRtOfOueHznB"
HIGH_ENTROPY_HEX = "9b74c9897bac770ffc029102a200c5de" + "7d2c5c4b3a1f0e9d8c7b6a5f4e3d2c1b"
CONSTANT_FLOW = "flow-Pw-48Uvw"  # a constant given to password=
KEYWORD_PROSE = "prose-tok-Kx81q"  # token=X in a docstring

# value -> the placeholder kind that must replace it
EXPECTED_BEYOND_NAMES = {
    COMMENT_ADMIN: "secret", COMMENT_PASSWORD: "secret", COMMENT_KEY: "secret",
    COMMENT_TOKEN: "secret", DOCSTRING_STAGING: "secret", DOCSTRING_INDENTED: "secret",
    BANNER: "secret", MAILGUN: "mailgun-key", HEROKU: "heroku-key", TEMPLATE_PART: "secret",
    POSITIONAL_SMTP: "secret", CONNECT_PW: "secret", SET_PASSWORD: "secret",
    RETURNED_KEY: "secret", RETURNED_ONE_LINE: "secret", BASIC_BARE: "token",
    HIGH_ENTROPY: "high-entropy", HIGH_ENTROPY_HEX: "high-entropy", CONSTANT_FLOW: "secret",
    KEYWORD_PROSE: "secret",
}


def helpers_module() -> str:
    """A helpers module holding each secret of :data:`EXPECTED_BEYOND_NAMES` as real code does."""
    return f'''"""Mail and billing helpers.

The staging db password is {DOCSTRING_STAGING} (rotate it).

Settings:
    host: mail.internal
    password: {DOCSTRING_INDENTED}

Call with token={KEYWORD_PROSE} when testing by hand.
"""
import smtplib

# the prod admin password is {COMMENT_ADMIN}
# password: {COMMENT_PASSWORD}
# key: {COMMENT_KEY}
# token={COMMENT_TOKEN}
PREFIX = "hook"
BANNER = "{BANNER}"
MAILGUN = "{MAILGUN}"
HEROKU = "{HEROKU}"
WEBHOOK_TOKEN = f"{{PREFIX}}{TEMPLATE_PART}"
CHECKSUM_SEED = "{HIGH_ENTROPY}"
ROUTING = "{HIGH_ENTROPY_HEX}"
FALLBACK = "{CONSTANT_FLOW}"
HEADERS = {{"X-Upstream": "Basic {BASIC_BARE}"}}


def send_report(to: str) -> None:
    """Mail the report."""
    smtp = smtplib.SMTP("mail.internal")
    smtp.login("billing@example.com", "{POSITIONAL_SMTP}")
    smtp.login("billing@example.com", BANNER)


def open_db(connect: object) -> object:
    return connect("db.internal", "app", "{CONNECT_PW}")


def reset(user: object) -> None:
    user.set_password("{SET_PASSWORD}")
    user.check(password=FALLBACK)


def get_api_key() -> str:
    """The upstream key."""
    return "{RETURNED_KEY}"


def upstream_token() -> str: return "{RETURNED_ONE_LINE}"
'''


NEVER_SENT_BEYOND_NAMES = tuple(EXPECTED_BEYOND_NAMES)


# Every top-level name of python_module(), for a caller that uses them all.
NAMES = tuple(
    name
    for name in dict.fromkeys(re.findall(r"^(?:def )?([A-Za-z_]\w*)[ (:]", python_module(), re.M))
    if name not in ("os", "import")
)

# Ordinary code that names no secret: redaction must leave it as it is.
ORDINARY = '''
author = "Jane"
monkey = "banana"
keyboard = "qwerty"
tokenizer = Tokenizer("bert-base")
tokenizer_name = "bert-base-uncased"
compass = "north"
passenger = "Ann"
keywords = ["red", "green"]
name = "sk-short"
color = "AKIA"
fields = ["username", "password", "email"]
if token == "x":
    pass
value = settings.get("API_TOKEN")
url = "https://example.com:8080/users/me"
query = "see https://docs.example.com/tokens"
print("the token expired", user)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
SIMPLE_JWT = {"AUTH_HEADER_TYPES": ("Bearer",), "USER_ID_CLAIM": "user_id"}
REQUIRED_KEYS = ["id", "name", "email"]
keys = ("id", "name")
TOKENS = ["(", ")", "+", "-"]
jwt = decode(raw)
headers = {"Authorization": f"Bearer {token.key}"}
'''
