"""Translated texts for error codes (Indonesian by default, English on request).

The domain raises a code with English text; here the code picks a message
from the Babel catalogue, so the kiosk can show the visitor plain Indonesian.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

MESSAGES: dict[str, Any] = {
    "agency_before_open": _l("%(agency)s is not open yet. Tickets are issued from %(next_open)s."),
    "agency_break": _l("%(agency)s is on a break until %(next_open)s."),
    "agency_after_cutoff": _l("%(agency)s has stopped issuing tickets for today."),
    "agency_closed": _l("%(agency)s is closed now."),
    "agency_holiday": _l("%(agency)s is closed today (holiday)."),
    "agency_inactive": _l("%(agency)s is not serving at the moment."),
    "service_inactive": _l("The service %(service)s is not available at the moment."),
    "quota_exhausted": _l("Today's quota for %(service)s is used up. Please come back tomorrow."),
    "service_not_found": _l("That service does not exist."),
    "ticket_not_found": _l("That ticket does not exist."),
    "counter_not_found": _l("That counter does not exist."),
    "invalid_priority": _l("Priority must be one of: %(allowed)s."),
    "invalid_request_id": _l("request_id must be a text of 1 to 64 characters."),
    "illegal_transition": _l("Ticket %(number)s is %(status)s; that action is not possible now."),
    "counter_busy": _l("%(counter)s still has ticket %(number)s. Finish, transfer or mark it "
                       "as no-show first."),
    "counter_closed": _l("%(counter)s is closed. Open it first."),
    "counter_paused": _l("%(counter)s is on a break. Open it first."),
    "counter_taken": _l("%(counter)s is being used by another officer."),
    "officer_elsewhere": _l("You are still logged in at %(counter)s. Close it first."),
    "no_current_ticket": _l("%(counter)s has no ticket being served."),
    "no_show_too_early": _l("Call ticket %(number)s again first, or wait %(seconds)s seconds more."),
    "not_your_counter": _l("You may not operate %(counter)s."),
    "invalid_survey": _l("The survey answers are not valid: every score is a whole number from 1 to 4."),
    "survey_not_yet": _l("Ticket %(number)s can be rated once its service is finished."),
    "survey_exists": _l("Ticket %(number)s has already been rated. Thank you!"),
    "survey_closed": _l("The survey of ticket %(number)s is closed: it was finished too long ago."),
    "note_required": _l("%(service)s needs a note before it is finished."),
    "service_not_offered": _l("%(service)s is not offered at this kiosk."),
    "not_your_ticket": _l("Ticket %(number)s belongs to another agency."),
    "device_not_found": _l("There is no device %(code)s."),
    "no_kiosk": _l("This ticket was not issued at a kiosk; choose the kiosk to print at."),
    "no_printer": _l("%(kiosk)s has no ticket printer."),
    "same_service": _l("The ticket is already in that service."),
    "ticket_not_today": _l("Ticket %(number)s is not from today."),
    "invalid_json": _l("The request body must be a JSON object."),
    "invalid_field": _l("Field '%(field)s' is missing or invalid."),
    "invalid_period": _l("Choose a period whose end is not before its start, at most two years long."),
    "database_unavailable": _l("The database is not answering; please try again."),
    "unauthorized": _l("Please log in or send a valid key."),
    "demo_credential": _l("Demo credentials are refused in production."),
    "forbidden": _l("You are not allowed to do this."),
    "bad_credentials": _l("Wrong username or password."),
    "not_found": _l("Not found."),
    "method_not_allowed": _l("This method is not allowed here."),
    "body_too_large": _l("The request is too large."),
    "csrf_failed": _l("The page expired; reload it and try again."),
    "bad_request": _l("The request could not be understood."),
}


def translate(code: str, fallback: str, params: dict[str, Any]) -> str:
    template = MESSAGES.get(code)
    if template is None:
        return fallback
    try:
        return str(template) % {k: ("" if v is None else v) for k, v in params.items()}
    except (KeyError, TypeError, ValueError):
        return fallback
