"""Default terms of the fundraising plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("fundraising.donor",
         pl=forms("darczyńca, darczyńcy, darczyńcy, darczyńcę, darczyńcą, darczyńcy",
                  "darczyńcy, darczyńców, darczyńcom, darczyńców, darczyńcami, darczyńcach"),
         en=forms("donor", "donors"),
         gender="m1"),
    Term("fundraising.donation",
         pl=forms("darowizna, darowizny, darowiźnie, darowiznę, darowizną, darowiźnie",
                  "darowizny, darowizn, darowiznom, darowizny, darowiznami, darowiznach"),
         en=forms("donation", "donations"),
         gender="f"),
    Term("fundraising.campaign",
         pl=forms("kampania, kampanii, kampanii, kampanię, kampanią, kampanii",
                  "kampanie, kampanii, kampaniom, kampanie, kampaniami, kampaniach"),
         en=forms("campaign", "campaigns"),
         gender="f"),
    Term("fundraising.mandate",
         pl=forms("polecenie zapłaty, polecenia zapłaty, poleceniu zapłaty, polecenie zapłaty, poleceniem zapłaty, poleceniu zapłaty",
                  "polecenia zapłaty, poleceń zapłaty, poleceniom zapłaty, polecenia zapłaty, poleceniami zapłaty, poleceniach zapłaty"),
         en=forms("direct debit mandate", "direct debit mandates"),
         gender="n"),
]
