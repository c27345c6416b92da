"""Default terms of the training plugin, in Polish and English."""

from core import Term, forms

TERMS = [
    Term("training.training",
         pl=forms("szkolenie, szkolenia, szkoleniu, szkolenie, szkoleniem, szkoleniu",
                  "szkolenia, szkoleń, szkoleniom, szkolenia, szkoleniami, szkoleniach"),
         en=forms("training", "trainings"),
         gender="n"),
    Term("training.participant",
         pl=forms("uczestnik, uczestnika, uczestnikowi, uczestnika, uczestnikiem, uczestniku",
                  "uczestnicy, uczestników, uczestnikom, uczestników, uczestnikami, uczestnikach"),
         en=forms("participant", "participants"),
         gender="m1"),
    Term("training.member_unit",
         pl=forms("jednostka członkowska, jednostki członkowskiej, jednostce członkowskiej, jednostkę członkowską, jednostką członkowską, jednostce członkowskiej",
                  "jednostki członkowskie, jednostek członkowskich, jednostkom członkowskim, jednostki członkowskie, jednostkami członkowskimi, jednostkach członkowskich"),
         en=forms("member unit", "member units"),
         gender="f"),
    Term("training.venue",
         pl=forms("ośrodek szkoleniowy, ośrodka szkoleniowego, ośrodkowi szkoleniowemu, ośrodek szkoleniowy, ośrodkiem szkoleniowym, ośrodku szkoleniowym",
                  "ośrodki szkoleniowe, ośrodków szkoleniowych, ośrodkom szkoleniowym, ośrodki szkoleniowe, ośrodkami szkoleniowymi, ośrodkach szkoleniowych"),
         en=forms("training venue", "training venues"),
         gender="m3"),
    Term("training.certificate",
         pl=forms("zaświadczenie, zaświadczenia, zaświadczeniu, zaświadczenie, zaświadczeniem, zaświadczeniu",
                  "zaświadczenia, zaświadczeń, zaświadczeniom, zaświadczenia, zaświadczeniami, zaświadczeniach"),
         en=forms("certificate", "certificates"),
         gender="n"),
]
