"""Permissions of the grants plugin, granted to roles by administrators."""

from core import Permission

CALLS, REPORTS = "grants.manage", "grants.reports"

PERMISSIONS = [
    # Calls for proposals: added, corrected, their required attachments kept.
    Permission(CALLS, {"pl": "Prowadzenie naborów wniosków o dofinansowanie",
                       "en": "Keep the calls for proposals"}),
    # Read over the cases the holder may see: grants won, clients in durability,
    # overdue reports, clients at risk.
    Permission(REPORTS, {"pl": "Raporty dotacji", "en": "Grants reports"}),
]
