"""The training's default letters: the invitation sent to a segment of member units (TR-2),
the messages telling a person they are enrolled, waiting or taken off the list (TR-3),
and the certificate of attendance, numbered in a series of its own (TR-6).

Each is filled from the training (``case``, its fields as people read them in
``case.custom``) and the person it goes to (``person``). They are shipped once; from
then on they are the administrators', who edit them or switch a message off.
Optional fields are always asked for first: a training without a venue still renders.
"""

from core.documents import Series, Template

# When and where, as every letter says it.
WHEN_WHERE = """{% set c = case.custom %}
<ul>
  {% for key, label in (("training_starts_at", "Termin"), ("training_duration_hours", "Godziny"),
                        ("training_venue", "Miejsce"), ("training_trainer", "Prowadzący"),
                        ("training_price", "Cena za uczestnika")) if c.get(key) %}
  <li>{{ label }}: <strong>{{ c[key] }}</strong></li>
  {% endfor %}
</ul>
"""

INVITATION = """<p>Dzień dobry {{ person.first_name }},</p>
<p>zapraszamy na {{ term("training.training", "acc") }} <strong>{{ case.title }}</strong>.</p>
""" + WHEN_WHERE + """{% if case.description %}<p>{{ case.description }}</p>{% endif %}
<p>Zapisy prowadzimy w portalu: <a href="{{ links.portal }}">{{ links.portal }}</a>.</p>
<p>Z poważaniem<br>{{ company.name }}</p>
"""

ENROLLED = """<p>Dzień dobry {{ person.first_name }},</p>
<p>potwierdzamy zapis na {{ term("training.training", "acc") }}
  <strong>{{ case.title }}</strong>.</p>
""" + WHEN_WHERE + """<p>Jeśli nie będzie Pani/Pan mogła/mógł przyjść, prosimy o wypisanie się
  w portalu: <a href="{{ links.portal }}">{{ links.portal }}</a>; miejsce dostanie osoba z listy
  rezerwowej.</p>
<p>Z poważaniem<br>{{ company.name }}</p>
"""

WAITING = """<p>Dzień dobry {{ person.first_name }},</p>
<p>na {{ term("training.training", "acc") }} <strong>{{ case.title }}</strong> nie ma już
  wolnych miejsc: jest Pani/Pan na liście rezerwowej. Gdy ktoś zrezygnuje, dostanie
  Pani/Pan miejsce w kolejności zgłoszeń i potwierdzenie w osobnej wiadomości.</p>
""" + WHEN_WHERE + """<p>Z poważaniem<br>{{ company.name }}</p>
"""

CANCELLED = """<p>Dzień dobry {{ person.first_name }},</p>
<p>zapis na {{ term("training.training", "acc") }} <strong>{{ case.title }}</strong>
  został anulowany.</p>
<p>Inne terminy znajdzie Pani/Pan w portalu:
  <a href="{{ links.portal }}">{{ links.portal }}</a>.</p>
<p>Z poważaniem<br>{{ company.name }}</p>
"""

CERTIFICATE = """<style>
  :root { --accent: #1f4e3d; }
  .certificate { text-align: center; margin-top: 25mm; }
  .certificate h1 { font-size: 26pt; letter-spacing: 0.08em; margin-bottom: 4mm; }
  .certificate .who { font-size: 20pt; font-weight: bold; margin: 10mm 0 6mm; }
  .certificate .what { font-size: 15pt; font-weight: bold; margin: 4mm 0 8mm; }
</style>
{% set c = case.custom %}
<div class="certificate">
  <h1>ZAŚWIADCZENIE</h1>
  <div>nr {{ document.number }}</div>
  <p>Zaświadcza się, że</p>
  <div class="who">{{ person.full_name }}</div>
  <p>{% if c.get("training_starts_at") %}w dniu {{ c.training_starts_at }}{% endif %}
    ukończył(a) {{ term("training.training", "acc") }}</p>
  <div class="what">„{{ case.title }}”</div>
  {% set where = [("w wymiarze " ~ c.training_duration_hours ~ " godzin")
                   if c.get("training_duration_hours") else "", c.get("training_venue", "")] %}
  {% if where|select|list %}<p>{{ where|select|join(", ") }}</p>{% endif %}
  {% if c.get("training_trainer") %}<p>Prowadzący: {{ c.training_trainer }}</p>{% endif %}
</div>
{% set left_above = company.name %}
{% set left = "Podpis organizatora" %}
{% set right_above = day(document.date) %}
{% set right = "Data wydania" %}
{% include "signatures.html" %}
"""


def _mail(key: str, pl: str, en: str, subject: str, body: str) -> Template:
    return Template(key, "email", "case", {"pl": pl, "en": en}, body, subject=subject)


TEMPLATES = [
    _mail("training.invitation", "Zaproszenie na szkolenie", "Training invitation",
          "Zaproszenie: {{ case.title }}", INVITATION),
    _mail("training.enrolled", "Potwierdzenie zapisu na szkolenie",
          "Training enrolment confirmed", "Potwierdzenie zapisu: {{ case.title }}", ENROLLED),
    _mail("training.waiting", "Lista rezerwowa szkolenia", "Training waiting list",
          "Lista rezerwowa: {{ case.title }}", WAITING),
    _mail("training.cancelled", "Anulowanie zapisu na szkolenie",
          "Training enrolment cancelled", "Anulowany zapis: {{ case.title }}", CANCELLED),
    Template("training.certificate", "certificate", "case",
             {"pl": "Zaświadczenie o ukończeniu szkolenia",
              "en": "Certificate of attendance"}, CERTIFICATE,
             series=Series("training.certificate", "Zaświadczenia", "ZS/{year}/{seq:04}")),
]
