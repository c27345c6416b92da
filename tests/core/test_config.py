"""Settings: defaults, the instance file, KARTOTEKA_* variables and overrides."""

import stat

import pytest

from core import config
from core.errors import StartupError


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    return folder


def load(instance, environ=None, **overrides):
    return config.load({"instance_path": str(instance), **overrides}, environ=environ or {})


def write_toml(instance, text):
    (instance / "kartoteka.toml").write_text(text, encoding="utf-8")


def test_defaults(instance):
    settings = load(instance)
    assert settings.instance == instance.resolve()
    assert settings.database_url == f"sqlite:///{instance.resolve() / 'kartoteka.db'}"
    assert settings.auto_migrate is True
    assert settings.default_locale == "pl"
    assert settings.timezone == "Europe/Warsaw"


def test_instance_path_from_the_environment(instance):
    settings = config.load(environ={"KARTOTEKA_INSTANCE_PATH": str(instance)})
    assert settings.instance == instance.resolve()
    assert settings.database_url.endswith("kartoteka.db")
    assert str(instance.resolve()) in settings.database_url


def test_override_beats_the_environment_for_the_instance_path(tmp_path, instance):
    other = tmp_path / "other"
    settings = config.load({"instance_path": str(other)},
                           environ={"KARTOTEKA_INSTANCE_PATH": str(instance)})
    assert settings.instance == other.resolve()


def test_instance_file_beats_defaults(instance):
    write_toml(instance, 'timezone = "Europe/London"\nauto_migrate = false\n')
    settings = load(instance)
    assert settings.timezone == "Europe/London"
    assert settings.auto_migrate is False


def test_environment_beats_instance_file(instance):
    write_toml(instance, 'default_locale = "en"\ndatabase_url = "sqlite:///file.db"\n')
    settings = load(instance, environ={"KARTOTEKA_DEFAULT_LOCALE": "pl",
                                       "KARTOTEKA_DATABASE_URL": "sqlite:///env.db"})
    assert settings.default_locale == "pl"
    assert settings.database_url == "sqlite:///env.db"


def test_overrides_beat_the_environment(instance):
    write_toml(instance, 'log_level = "WARNING"\n')
    settings = load(instance, environ={"KARTOTEKA_LOG_LEVEL": "ERROR"}, log_level="DEBUG")
    assert settings.log_level == "DEBUG"


def test_each_layer_keeps_what_later_layers_do_not_set(instance):
    write_toml(instance, 'timezone = "UTC"\ndefault_locale = "en"\nlog_level = "WARNING"\n')
    settings = load(instance, environ={"KARTOTEKA_DEFAULT_LOCALE": "pl",
                                       "KARTOTEKA_LOG_LEVEL": "ERROR"}, log_level="DEBUG")
    assert (settings.timezone, settings.default_locale, settings.log_level) == (
        "UTC", "pl", "DEBUG")


def test_override_names_are_not_case_sensitive(instance):
    assert load(instance, DEFAULT_LOCALE="en").default_locale == "en"


@pytest.mark.parametrize("text,expected", [
    ("yes", True), ("no", False), ("1", True), ("0", False), ("true", True),
    ("false", False), ("YES", True), ("False", False),
])
def test_boolean_words_from_the_environment(instance, text, expected):
    settings = load(instance, environ={"KARTOTEKA_AUTO_MIGRATE": text,
                                       "KARTOTEKA_TRACE_PLUGINS": text})
    assert settings.auto_migrate is expected
    assert settings.trace_plugins is expected


def test_a_bad_boolean_names_the_variable(instance):
    with pytest.raises(StartupError) as excinfo:
        load(instance, environ={"KARTOTEKA_AUTO_MIGRATE": "maybe"})
    assert "KARTOTEKA_AUTO_MIGRATE" in str(excinfo.value)
    assert "maybe" in str(excinfo.value)


def test_an_unknown_key_in_the_instance_file_names_the_file_and_key(instance):
    write_toml(instance, 'timezone = "UTC"\ndatabse_url = "sqlite:///x.db"\n')
    with pytest.raises(StartupError) as excinfo:
        load(instance)
    assert str(instance.resolve() / "kartoteka.toml") in str(excinfo.value)
    assert "databse_url" in str(excinfo.value)


def test_invalid_toml_names_the_file(instance):
    write_toml(instance, "timezone = Europe/Warsaw\n")
    with pytest.raises(StartupError) as excinfo:
        load(instance)
    assert str(instance.resolve() / "kartoteka.toml") in str(excinfo.value)
    assert "TOML" in str(excinfo.value)


def test_ensure_instance_creates_the_folder_and_a_secret_key(tmp_path):
    folder = tmp_path / "new" / "instance"
    settings = load(folder)
    config.ensure_instance(settings)
    assert folder.is_dir()
    assert len(settings.secret_key) >= 32


def test_the_secret_key_stays_the_same_across_starts(tmp_path):
    first = load(tmp_path / "instance")
    config.ensure_instance(first)
    second = load(tmp_path / "instance")
    config.ensure_instance(second)
    assert first.secret_key and first.secret_key == second.secret_key


def test_the_secret_key_file_is_readable_only_by_its_owner(instance):
    config.ensure_instance(load(instance))
    mode = stat.S_IMODE((instance / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_a_configured_secret_key_is_kept(instance):
    settings = load(instance, environ={"KARTOTEKA_SECRET_KEY": "from-env"})
    config.ensure_instance(settings)
    assert settings.secret_key == "from-env"
