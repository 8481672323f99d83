"""The questions of the satisfaction survey (SKM, PermenPANRB 14/2017) as the
visitor sees them, shared by the status page (/t/<token>) and a counter's
tablet (/counter/survey).

Each element keeps its official name (:data:`queue_server.domain.ikm.ELEMENTS`);
the question and the four answers (scores 1-4, worst first) follow the
regulation's sample questionnaire and go through the catalogue like every
other text of the pages.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..domain.ikm import ELEMENTS
from ..domain.survey import SUGGESTION_MAX

SUITABLE = (_l("Not suitable"), _l("Less suitable"), _l("Suitable"), _l("Very suitable"))

QUESTIONS: dict[str, tuple[Any, tuple[Any, Any, Any, Any]]] = {
    "U1": (_l("Do the requirements of the service suit the kind of service?"), SUITABLE),
    "U2": (_l("How easy is the service procedure at this unit?"),
           (_l("Not easy"), _l("Less easy"), _l("Easy"), _l("Very easy"))),
    "U3": (_l("How fast was the service given?"),
           (_l("Not fast"), _l("Less fast"), _l("Fast"), _l("Very fast"))),
    "U4": (_l("How fair is the cost or tariff of the service?"),
           (_l("Very expensive"), _l("Fairly expensive"), _l("Cheap"), _l("Free"))),
    "U5": (_l("Does the result you received suit what the service standard promises?"), SUITABLE),
    "U6": (_l("How competent were the officers who served you?"),
           (_l("Not competent"), _l("Less competent"), _l("Competent"), _l("Very competent"))),
    "U7": (_l("How polite and friendly were the officers?"),
           (_l("Not polite and friendly"), _l("Less polite and friendly"), _l("Polite and friendly"),
            _l("Very polite and friendly"))),
    "U8": (_l("How are complaints, suggestions and feedback from visitors handled?"),
           (_l("Not available"), _l("Available but not working"), _l("Working, but not fully"),
            _l("Well managed"))),
    "U9": (_l("How good are the facilities and infrastructure?"),
           (_l("Poor"), _l("Adequate"), _l("Good"), _l("Very good"))),
}


def questions(lang: str) -> list[dict[str, Any]]:
    """The nine questions in element order, in ``lang``, ready for the form macro."""
    out = []
    for code, name_id, name_en in ELEMENTS:
        question, answers = QUESTIONS[code]
        out.append({"code": code, "element": name_en if lang == "en" else name_id,
                    "question": str(question),
                    "answers": [(score, str(label)) for score, label in enumerate(answers, start=1)]})
    return out


def texts() -> dict[str, str]:
    """What survey.js writes by itself (errors, progress), in the request's language."""
    return {
        "chooseOne": str(_l("Please choose an answer to at least one question.")),
        "sending": str(_l("Sending…")),
        "send": str(_l("Send")),
        "network": str(_l("Your answers could not be sent: there is no connection to the server. "
                          "Check your connection and try again.")),
        "server": str(_l("Your answers could not be sent: the server has a problem. "
                         "Please try again in a moment.")),
        "answered": str(_l("A survey for this ticket has already been filled in. Thank you!")),
        "thanks": str(_l("Thank you! Your answers help us improve our service.")),
        "left": str(_l("%(num)s characters left")),
    }


SUGGESTION_MAX_LENGTH = SUGGESTION_MAX
