"""Where policywatch finds its database, its extra catalog files and its crawl settings.

Precedence, highest first: command-line flags, environment variables (`POLICYWATCH_*`), the
config file (`config.toml` in the user config directory, or `POLICYWATCH_CONFIG`), defaults.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from crawlers.pacing import Interval, Pacing

APP_NAME = "policywatch"
BASE_URL_EXPECTED = "an absolute http(s) URL without query or fragment"


def is_base_url(value: str) -> bool:
    """Whether links can be made of `value`: a relative or schemeless one
    (`policywatch.example.org`) made links that led nowhere, and a query or fragment ended up in
    the middle of every link (`{base}?x=1/changes/42`)."""
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not set("?#") & set(value)


def config_file() -> Path:
    """The config file: `POLICYWATCH_CONFIG`, else `config.toml` in the user config directory."""
    explicit = os.environ.get("POLICYWATCH_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_url() -> str:
    """SQLite in the user data directory: embedded, zero set-up."""
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'policywatch.sqlite3'}"


class Settings(BaseSettings):
    """Everything a user may set once instead of on every command."""

    # A variable exported blank (`POLICYWATCH_DB=` in a unit file, `"$DB"` unset in a script)
    # is unset, as POLICYWATCH_CONFIG and the options' variables are: POLICYWATCH_DB='' was no
    # database URL, an error, where the config file or the default was meant.
    model_config = SettingsConfigDict(
        env_prefix="POLICYWATCH_", extra="ignore", env_ignore_empty=True
    )

    db: str = Field(default_factory=default_db_url)
    catalog: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    # False: only the user's `catalog` is tracked, for those who watch their own list of pages.
    bundled_catalog: bool = True
    contact_url: str | None = None  # None: the crawler's own, this project's URL
    # Both positive: a negative timeout failed every fetch, and 0 bytes turned the size cap off.
    max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    base_url: str | None = None
    # The Redis that spreads crawls over `policywatch worker`s; None: crawl in this process.
    redis: str | None = None
    # How often documents are fetched (crawlers/pacing.py): `interval` those whose declaration
    # names none (None: daily); `intervals` by key, service or tag, over any declaration.
    interval: Interval | None = None
    intervals: dict[str, Interval] = Field(default_factory=dict)

    @field_validator("catalog", mode="before")
    @classmethod
    def _path_list(cls, value: Any) -> Any:
        """`POLICYWATCH_CATALOG` lists paths like `PATH` does: separated by `os.pathsep`. A
        leading `~` is the home folder, as in a shell: no shell reads the config file, and
        `catalog = ["~/my-policies"]` named a folder `~` in whatever folder cron started in."""
        if isinstance(value, str):
            value = [part for part in value.split(os.pathsep) if part]
        if isinstance(value, list):
            return [Path(part).expanduser() if isinstance(part, str) else part for part in value]
        return value

    @property
    def pacing(self) -> Pacing:
        return Pacing(self.interval, self.intervals)

    @field_validator("base_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        if value is not None and not is_base_url(value):
            raise ValueError(f"{value!r} is not {BASE_URL_EXPECTED}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)


class ConfigError(ValueError):
    """The settings cannot be used; the message names where they come from and why."""


class UnknownSetting(ConfigError):
    """A name in the config file that is no setting: a typo, most often, silently ignored."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__(f"{path}: unknown setting {name}")
        self.path, self.name = path, name


def load_settings() -> Settings:
    """The settings in force, from the environment and the config file (none when the file named
    is absent: pointing POLICYWATCH_CONFIG at no file is how scripts leave a user's config out)."""
    path = config_file()
    if path.is_file():
        _check_names(path)
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: "
            f"{problem['msg'].removeprefix('Value error, ')} (in {_source(problem['loc'], path)})"
            for problem in error.errors()
        )
        raise ConfigError(problems) from None
    except SettingsError as error:  # a variable read as JSON (`intervals`) that is no JSON
        found = re.search(r'field "(\w+)"', str(error))
        name = found.group(1) if found else "?"
        cause = error.__cause__
        why = f"not JSON ({cause})" if isinstance(cause, json.JSONDecodeError) else str(cause)
        example = JSON_EXAMPLES.get(name, "")
        raise ConfigError(f"{name}: {why}{example} (in {where_set(name, path)})") from None


# What a variable read as JSON looks like, for the error that says it is no JSON.
JSON_EXAMPLES = {"intervals": """; write an object, such as {"openai": "6h"}"""}


def _source(location: tuple[int | str, ...], path: Path) -> str:
    """Where a setting's bad value came from: its environment variable, which wins, else the
    config file. The value itself is not repeated: a database URL may hold a password."""
    return where_set(str(location[0]), path)


def where_set(name: str, path: Path | None = None) -> str:
    """Where the setting `name` is read from: its environment variable when set (not blank),
    else the config file (`path`, or the one in force)."""
    variable = f"POLICYWATCH_{name.upper()}"
    return variable if os.environ.get(variable) else str(path or config_file())


def _check_names(path: Path) -> None:
    try:
        names = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    for name in names:
        if name not in Settings.model_fields:
            raise UnknownSetting(path, name)
