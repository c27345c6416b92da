"""Notifications wait for the real commit: a savepoint released sends nothing, and a
savepoint rolled back drops only what was queued inside it."""

from sqlalchemy import text

from core import events


class Ear:
    """A host that writes down what plugins would hear."""

    def __init__(self):
        self.heard = []

    def notify(self, hook_name, **kwargs):
        self.heard.append((hook_name, kwargs["n"]))


def test_savepoints_neither_send_nor_drop_what_the_transaction_queued(rt):
    ear, calls = Ear(), []
    with rt.session() as s:
        s.info["host"] = ear
        s.execute(text("SELECT 1"))
        events.after_commit(s, "kartoteka_record_created", n=1)
        with s.begin_nested():
            events.after_commit(s, "kartoteka_record_created", n=2)
            events.call_after_commit(s, lambda: calls.append("kept"))
        assert ear.heard == [] and calls == []  # released, not committed
        try:
            with s.begin_nested():
                events.after_commit(s, "kartoteka_record_created", n=3)
                events.call_after_commit(s, lambda: calls.append("undone"))
                raise ValueError("refused")
        except ValueError:
            pass
        assert ear.heard == []
        s.commit()
    assert ear.heard == [("kartoteka_record_created", 1), ("kartoteka_record_created", 2)]
    assert calls == ["kept"]


def test_a_rollback_of_the_transaction_drops_everything(rt):
    ear = Ear()
    with rt.session() as s:
        s.info["host"] = ear
        s.execute(text("SELECT 1"))
        with s.begin_nested():
            events.after_commit(s, "kartoteka_record_created", n=1)
        s.rollback()
        s.execute(text("SELECT 1"))
        s.commit()
    assert ear.heard == []
