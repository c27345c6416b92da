"""Default terms of the photovoltaics plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("photovoltaics.installation",
         pl=forms("instalacja, instalacji, instalacji, instalację, instalacją, instalacji",
                  "instalacje, instalacji, instalacjom, instalacje, instalacjami, instalacjach"),
         en=forms("installation", "installations"),
         gender="f"),
    Term("photovoltaics.audit",
         pl=forms("audyt, audytu, audytowi, audyt, audytem, audycie",
                  "audyty, audytów, audytom, audyty, audytami, audytach"),
         en=forms("site audit", "site audits"),
         gender="m3"),
    Term("photovoltaics.crew",
         pl=forms("ekipa montażowa, ekipy montażowej, ekipie montażowej, ekipę montażową, ekipą montażową, ekipie montażowej",
                  "ekipy montażowe, ekip montażowych, ekipom montażowym, ekipy montażowe, ekipami montażowymi, ekipach montażowych"),
         en=forms("installation crew", "installation crews"),
         gender="f"),
    Term("photovoltaics.offer",
         pl=forms("oferta, oferty, ofercie, ofertę, ofertą, ofercie",
                  "oferty, ofert, ofertom, oferty, ofertami, ofertach"),
         en=forms("offer", "offers"),
         gender="f"),
]
