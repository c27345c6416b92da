"""Schemathesis checks shared by the core's and the plugins' API runs: registered once,
however many test modules use them."""

import schemathesis
from schemathesis.engine import Status, events, from_schema

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "status_named_by_operation")


@schemathesis.check
def status_named_by_operation(ctx, response, case):
    """Stricter than status_code_conformance, which passes any status where a "default"
    response is documented: the operation must name the status itself."""
    if case.method.upper() != case.operation.method.upper():
        return None  # a method the route does not take, tried on purpose: 405
    named = [code for code in case.operation.responses.status_codes if code != "default"]
    if str(response.status_code) not in named:
        raise AssertionError(f"Status {response.status_code} is not among the operation's "
                             f"responses: {', '.join(named)}")
    return None


def failures_of(recorder) -> list[str]:
    """Each failed check: the operation, what is wrong, the answer and the request."""
    found = []
    for case_id, checks in recorder.checks.items():
        for check in (c for c in checks if c.status == Status.FAILURE):
            interaction = recorder.interactions.get(case_id)
            answer = interaction.response if interaction is not None else None
            got = f"{answer.status_code} {answer.content[:300]!r}" if answer else "no answer"
            found.append(f"{recorder.label} [{check.name}]: {check.failure_info.failure}\n"
                         f"answered: {got}\n{recorder.cases[case_id].value.as_curl_command()}")
    return found


def run(schema) -> tuple[list[str], set[str]]:
    """Every operation of ``schema`` tried: the failures, and the operations that
    answered 2xx at least once (so that a test can tell they reached real records)."""
    failures, succeeded = [], set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures += failures_of(event.recorder)
            succeeded.update(event.recorder.label for i in event.recorder.interactions.values()
                             if i.response is not None and 200 <= i.response.status_code < 300)
        elif isinstance(event, events.NonFatalError):  # the app raised: a server error
            failures.append(f"{event.label}: {event.info.traceback[-2000:]}\n"
                            f"{event.info.code_sample or ''}")
        elif isinstance(event, events.FatalError):
            failures.append(f"the run stopped: {event.exception!r}")
    return failures, succeeded
