"""Default terms of the printing plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("printing.project",
         pl=forms("projekt, projektu, projektowi, projekt, projektem, projekcie",
                  "projekty, projektów, projektom, projekty, projektami, projektach"),
         en=forms("project", "projects"),
         gender="m3"),
    Term("printing.calculation",
         pl=forms("kalkulacja, kalkulacji, kalkulacji, kalkulację, kalkulacją, kalkulacji",
                  "kalkulacje, kalkulacji, kalkulacjom, kalkulacje, kalkulacjami, kalkulacjach"),
         en=forms("price calculation", "price calculations"),
         gender="f"),
    Term("printing.order",
         pl=forms("zamówienie, zamówienia, zamówieniu, zamówienie, zamówieniem, zamówieniu",
                  "zamówienia, zamówień, zamówieniom, zamówienia, zamówieniami, zamówieniach"),
         en=forms("order", "orders"),
         gender="n"),
    Term("printing.complaint",
         pl=forms("reklamacja, reklamacji, reklamacji, reklamację, reklamacją, reklamacji",
                  "reklamacje, reklamacji, reklamacjom, reklamacje, reklamacjami, reklamacjach"),
         en=forms("complaint", "complaints"),
         gender="f"),
]
