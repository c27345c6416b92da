"""Demo data: each enabled plugin creates its own, dependencies first."""

from __future__ import annotations

from core.errors import PluginError


def load(rt) -> list[str]:
    """Run every plugin's demo loader in its own transaction; returns who ran."""
    done = []
    for impl in rt.host.pm.hook.kartoteka_load_demo_data.get_hookimpls():
        with rt.session() as session, session.begin():
            try:
                impl.function(**{k: session for k in impl.argnames})
            except Exception as exc:
                raise PluginError(impl.plugin_name,
                                  f"demo data failed: {type(exc).__name__}: {exc}") from exc
        done.append(impl.plugin_name)
    return done
