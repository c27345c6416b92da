"""Settings: defaults, then the instance file, then ``KARTOTEKA_*`` variables.

Each setting has one line in ``SETTINGS``; the README's configuration table lists
the same names. ``instance/kartoteka.toml`` takes the names in lower case.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from core.errors import StartupError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


@dataclass
class Settings:
    instance_path: str = ""
    database_url: str = ""
    secret_key: str = ""
    auto_migrate: bool = True
    default_locale: str = "pl"
    timezone: str = "Europe/Warsaw"
    trace_plugins: bool = False
    log_level: str = "INFO"
    attachments_path: str = ""  # empty: <instance>/files
    max_upload_mb: int = 25
    # Session cookies only over HTTPS; `make run` turns this off for http://127.0.0.1.
    secure_cookies: bool = True
    session_idle_hours: int = 12  # a login session ends after this long unused
    session_max_days: int = 7  # and after this long in any case
    password_reset_minutes: int = 60  # how long an e-mailed password reset link works
    # Who issues documents: printed in their headers ("{{ company.name }}").
    company_name: str = ""
    company_details: str = ""  # address, NIP, bank account: one item a line
    logo_file: str = ""  # a PNG, JPEG or SVG; a relative path is within the instance folder
    # The legal basis of VAT exemption for lines at "zw" (KSeF FA(3) P_19A), such as
    # "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT".
    vat_exemption_basis: str = ""
    # Where people reach this installation: links in e-mails (unsubscribe, portal).
    public_url: str = "http://127.0.0.1:5000"
    # The job queue: empty for a SQLite file in the instance folder (one machine),
    # redis://host:port/db for several, "immediate" to run jobs in the asking process.
    jobs_url: str = ""
    # Outgoing mail. No smtp_host: messages wait in the outbox.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls | none
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""  # "Name <address>" every message is sent from
    mail_rate_per_minute: int = 0  # for the whole installation; 0: no limit
    mail_connections: int = 2  # SMTP connections each worker sends over at once
    mail_max_attempts: int = 12  # temporary SMTP failures, retried with growing pauses
    # How long a worker may hold a message it took before others count it as dead.
    mail_lease_seconds: int = 120
    # How long a billing run's worker holds the run between batches before another
    # worker may take it over (its worker died).
    billing_lease_seconds: int = 120
    # Webhooks: how long a receiver may take to answer, and whether addresses on this
    # machine or in private networks may receive them (off: a webhook cannot probe them).
    webhook_timeout_seconds: int = 10
    webhook_private_addresses: bool = False
    # API calls each token (or account, or address without either) may make; empty: no
    # limit. Counted in this process, or where rate_limit_url says (redis://...) so that
    # several machines share the counts; empty takes jobs_url when that is Redis.
    api_rate_limit: str = "600 per minute"
    rate_limit_url: str = ""
    # Reverse proxies (nginx, a load balancer) in front of the app, each adding its
    # X-Forwarded-For and -Proto: their word is taken for the caller's address (login
    # throttling, form and API limits) and the public scheme. 0: none, headers ignored.
    trusted_proxies: int = 0

    @property
    def instance(self) -> Path:
        return Path(self.instance_path)


def load(overrides: dict | None = None, environ: dict | None = None) -> Settings:
    """Settings from defaults < instance file < environment < ``overrides``."""
    environ = os.environ if environ is None else environ
    overrides = {k.lower(): v for k, v in (overrides or {}).items()}
    instance = Path(
        overrides.get("instance_path")
        or environ.get("KARTOTEKA_INSTANCE_PATH")
        or Path.cwd() / "instance"
    ).resolve()
    values: dict = {"instance_path": str(instance)}
    values.update(_read_file(instance / "kartoteka.toml"))
    for f in fields(Settings):
        env = environ.get(f"KARTOTEKA_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
    values.update(overrides)
    values["instance_path"] = str(instance)
    settings = Settings(**{f.name: _coerce(f, values[f.name]) for f in fields(Settings)
                           if f.name in values})
    if not settings.database_url:
        settings.database_url = f"sqlite:///{instance / 'kartoteka.db'}"
    return settings


def ensure_instance(settings: Settings) -> None:
    """Create the instance folder and a persistent secret key on first use."""
    settings.instance.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        key_file = settings.instance / "secret_key"
        try:
            # Created readable by the owner only, never briefly world-readable; if another
            # process starting at the same moment wins, its key is used.
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        settings.secret_key = key_file.read_text().strip()


def _read_file(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise StartupError(f"{path}: not valid TOML: {exc}") from exc
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise StartupError(f"{path}: unknown settings {', '.join(unknown)}")
    return data


def _coerce(f, value):
    if f.type in ("bool", bool) and isinstance(value, str):
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise StartupError(f"Setting {f.name} (KARTOTEKA_{f.name.upper()}): '{value}' is not "
                           "yes or no")
    if f.type in ("int", int) and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise StartupError(f"Setting {f.name} (KARTOTEKA_{f.name.upper()}): '{value}' is "
                               "not a whole number") from None
    return value
