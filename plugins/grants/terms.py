"""Default terms of the grants plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("grants.application",
         pl=forms("wniosek o dofinansowanie, wniosku o dofinansowanie, wnioskowi o dofinansowanie, wniosek o dofinansowanie, wnioskiem o dofinansowanie, wniosku o dofinansowanie",
                  "wnioski o dofinansowanie, wniosków o dofinansowanie, wnioskom o dofinansowanie, wnioski o dofinansowanie, wnioskami o dofinansowanie, wnioskach o dofinansowanie"),
         en=forms("grant application", "grant applications"),
         gender="m3"),
    Term("grants.payment_request",
         pl=forms("wniosek o płatność, wniosku o płatność, wnioskowi o płatność, wniosek o płatność, wnioskiem o płatność, wniosku o płatność",
                  "wnioski o płatność, wniosków o płatność, wnioskom o płatność, wnioski o płatność, wnioskami o płatność, wnioskach o płatność"),
         en=forms("payment request", "payment requests"),
         gender="m3"),
    Term("grants.schedule",
         pl=forms("harmonogram płatności, harmonogramu płatności, harmonogramowi płatności, harmonogram płatności, harmonogramem płatności, harmonogramie płatności",
                  "harmonogramy płatności, harmonogramów płatności, harmonogramom płatności, harmonogramy płatności, harmonogramami płatności, harmonogramach płatności"),
         en=forms("payment schedule", "payment schedules"),
         gender="m3"),
    Term("grants.contract",
         pl=forms("umowa o współpracy, umowy o współpracy, umowie o współpracy, umowę o współpracy, umową o współpracy, umowie o współpracy",
                  "umowy o współpracy, umów o współpracy, umowom o współpracy, umowy o współpracy, umowami o współpracy, umowach o współpracy"),
         en=forms("cooperation contract", "cooperation contracts"),
         gender="f"),
]
