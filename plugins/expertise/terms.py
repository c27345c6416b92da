"""Default terms of the expertise plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("expertise.inquiry",
         pl=forms("zapytanie, zapytania, zapytaniu, zapytanie, zapytaniem, zapytaniu",
                  "zapytania, zapytań, zapytaniom, zapytania, zapytaniami, zapytaniach"),
         en=forms("inquiry", "inquiries"),
         gender="n"),
    Term("expertise.expert",
         pl=forms("biegły, biegłego, biegłemu, biegłego, biegłym, biegłym",
                  "biegli, biegłych, biegłym, biegłych, biegłymi, biegłych"),
         en=forms("expert", "experts"),
         gender="m1"),
    Term("expertise.department",
         pl=forms("dział, działu, działowi, dział, działem, dziale",
                  "działy, działów, działom, działy, działami, działach"),
         en=forms("department", "departments"),
         gender="m3"),
    Term("expertise.opinion",
         pl=forms("opinia, opinii, opinii, opinię, opinią, opinii",
                  "opinie, opinii, opiniom, opinie, opiniami, opiniach"),
         en=forms("expert opinion", "expert opinions"),
         gender="f"),
]
