"""Default documents of the printing house (CORE-10, PR-4 to PR-6): the offer sent once
the calculation is approved, the order the client signs, and the internal production
order made once the signed order is back.

They are shipped once; from then on they are the administrators' to edit. Every body is
a whole HTML page of its own (style, letterhead, text), so an administrator sees in the
editor all that makes the document. Optional data is always asked for first: a project
with no amount, no client, no account manager or no custom fields still renders.
"""

from core.documents import Series, Template

# --- Parts every document of the printing house shares ----------------------------------

STYLE = """<style>
  .doc { color: #1f2328; font-size: 10pt; }
  .cap::first-letter, td.key::first-letter { text-transform: uppercase; }
  table.head { margin-bottom: 6mm; border-bottom: 2pt solid #c2185b; }
  table.head td { border: none; padding: 0 0 4mm 0; vertical-align: top; }
  table.head td.title { width: 34%; text-align: right; }
  table.head td.logo { width: 1%; padding-right: 5mm; }
  img.logo { max-width: 50mm; }
  .company { font-size: 12pt; font-weight: bold; color: #1f2328; }
  .details { font-size: 8pt; color: #57606a; line-height: 1.35; }
  h1 { font-size: 19pt; margin: 0; color: #c2185b; text-transform: uppercase;
       letter-spacing: 1pt; }
  .number { font-size: 11pt; font-weight: bold; margin-top: 1mm; }
  .dated { font-size: 9pt; color: #57606a; }
  .label { font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.6pt;
           color: #6e7781; margin-bottom: 1mm; }
  table.parties { margin-bottom: 5mm; }
  table.parties td { border: none; width: 50%; padding: 0 6mm 0 0; vertical-align: top; }
  .party-name { font-weight: bold; }
  h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm; page-break-after: avoid; color: #c2185b; }
  .text { white-space: pre-line; }
  table.items th { background: #f6f8fa; font-size: 8.5pt; }
  table.items td.money, table.items th.money { text-align: right; white-space: nowrap; }
  table.items tr.total td { font-weight: bold; background: #fdf2f7; }
  .words { font-size: 9.5pt; margin-top: 2mm; }
  ul.terms { padding-left: 5mm; margin: 0; }
  ul.terms li { margin-bottom: 1mm; }
  table.facts td { vertical-align: top; }
  table.facts td.key { width: 32%; background: #f6f8fa; font-size: 9pt; }
  .check { font-size: 12pt; }
  table.signatures { margin-top: 6mm; page-break-inside: avoid; }
  table.signatures td { border: none; width: 50%; text-align: center; padding: 0 8mm;
                        vertical-align: top; }
  .line { border-top: 0.5pt dotted #57606a; padding-top: 1mm; font-size: 8pt;
          color: #57606a; }
  .note { font-size: 8pt; color: #6e7781; margin-top: 8mm; }
</style>
"""


def _letterhead(title: str) -> str:
    """The firm's letterhead with ``title`` (Jinja source) and the number and date."""
    return """<table class="head"><tr>
  {% if company.logo %}
  <td class="logo"><img class="logo" src="{{ company.logo }}" alt=""></td>
  {% endif %}
  <td>
    <div class="company">{{ company.name }}</div>
    <div class="details">{% for line in company.details %}{{ line }}<br>{% endfor %}</div>
  </td>
  <td class="title">
    <h1>""" + title + """</h1>
    {% if document.number %}<div class="number">nr {{ document.number }}</div>{% endif %}
    <div class="dated">Data wystawienia: {{ day(today) }}</div>
  </td>
</tr></table>
"""


def _client(label: str) -> str:
    """The client's name, address and NIP under ``label``, if the project has a client."""
    return """{% if organisation %}
      <div class="label">""" + label + """</div>
      <div class="party-name">{{ organisation.name }}</div>
      {% if organisation.street %}<div>{{ organisation.street }}</div>{% endif %}
      {% if organisation.postal_code or organisation.city %}
      <div>{{ organisation.postal_code }} {{ organisation.city }}</div>
      {% endif %}
      {% if organisation.country and organisation.country != "PL" %}
      <div>{{ organisation.country }}</div>
      {% endif %}
      {% if organisation.nip %}<div>NIP: {{ organisation.nip }}</div>{% endif %}
      {% endif %}"""


MANAGER = """{% if owner %}
      <div class="label">Opiekun klienta</div>
      <div class="party-name">{{ owner.name }}</div>
      <div>{{ owner.email }}</div>
      {% endif %}"""

# --- The offer (PR-4: sent once the calculation is approved) -----------------------------

OFFER = STYLE + """<div class="doc">
""" + _letterhead("Oferta") + """
<table class="parties"><tr>
  <td>
    """ + _client("Dla") + """
  </td>
  <td>
    """ + MANAGER + """
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>dziękujemy za zapytanie. Z przyjemnością przedstawiamy ofertę na wykonanie
  {{ term("printing.project", "gen") }} <strong>„{{ case.title }}”</strong>.</p>

{% if case.description %}
<h2>Zakres</h2>
<div class="text">{{ case.description }}</div>
{% endif %}

<h2>Cena</h2>
{% if case.amount is not none %}
<table class="items">
  <tr><th style="width: 8%">Lp.</th><th>Przedmiot</th><th class="money">Wartość</th></tr>
  <tr><td>1.</td><td>{{ case.title }}</td>
      <td class="money">{{ money(case.amount, case.currency) }}</td></tr>
  <tr class="total"><td></td><td>Razem</td>
      <td class="money">{{ money(case.amount, case.currency) }}</td></tr>
</table>
<div class="words">Słownie: {{ words(case.amount, case.currency) }}.</div>
{% else %}
<p>Cenę przedstawimy w kalkulacji, gdy tylko poznamy wszystkie parametry zlecenia.</p>
{% endif %}

<h2>Warunki</h2>
<ul class="terms">
  <li>Oferta jest ważna <strong>14 dni</strong> od daty wystawienia.</li>
  <li>Podane ceny są cenami netto; zostanie do nich doliczony podatek VAT według
    obowiązującej stawki.</li>
  <li>Termin realizacji liczymy od dnia otrzymania podpisanego {{ term("printing.order", "gen") }}
    i zaakceptowanych plików do druku.</li>
  <li>Pliki do druku prosimy przygotować zgodnie ze specyfikacją technologiczną, którą
    prześle opiekun klienta; przed drukiem każdy plik jest sprawdzany przez nasze studio.</li>
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
</ul>

<p style="margin-top: 6mm">W razie pytań pozostajemy do Państwa dyspozycji.</p>

<table class="signatures"><tr>
  <td></td>
  <td>
    <div>Z poważaniem</div>
    <div style="height: 10mm"></div>
    <div class="line">
      {% if owner %}{{ owner.name }}, opiekun klienta{% else %}{{ company.name }}{% endif %}
    </div>
  </td>
</tr></table>
</div>
"""

# --- The order (PR-5: generated when the client agrees, signed by the client) ------------

ORDER = STYLE + """<div class="doc">
""" + _letterhead('{{ term("printing.order") }}') + """
<table class="parties"><tr>
  <td>
    <div class="label">Wykonawca</div>
    <div class="party-name">{{ company.name }}</div>
    {% for line in company.details %}<div>{{ line }}</div>{% endfor %}
  </td>
  <td>
    """ + _client("Zamawiający") + """
  </td>
</tr></table>

<p>Zamawiający zamawia u Wykonawcy wykonanie {{ term("printing.project", "gen") }}
  <strong>„{{ case.title }}”</strong> na warunkach określonych poniżej.</p>

{% if case.description %}
<h2>Przedmiot zamówienia</h2>
<div class="text">{{ case.description }}</div>
{% endif %}

<h2>Wartość zamówienia</h2>
{% if case.amount is not none %}
<table class="items">
  <tr><th>Przedmiot</th><th class="money">Wartość netto</th></tr>
  <tr><td>{{ case.title }}</td><td class="money">{{ money(case.amount, case.currency) }}</td></tr>
</table>
<div class="words">Słownie: {{ words(case.amount, case.currency) }}.
  Do wartości netto zostanie doliczony podatek VAT według obowiązującej stawki.</div>
{% else %}
<p>Zgodnie z zaakceptowaną ofertą.</p>
{% endif %}

<h2>Warunki realizacji</h2>
<ul class="terms">
  <li>Realizacja rozpoczyna się po otrzymaniu podpisanego {{ term("printing.order", "gen") }}
    oraz zaakceptowanych plików do druku.</li>
  <li>Za treść i poprawność merytoryczną dostarczonych plików odpowiada Zamawiający;
    Wykonawca sprawdza ich parametry techniczne i zgłasza zastrzeżenia przed drukiem.</li>
  <li>Termin i miejsce dostawy ustala z Zamawiającym opiekun klienta.</li>
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
  <li>Reklamacje przyjmujemy na piśmie lub pocztą elektroniczną w terminie 7 dni od dnia
    dostawy.</li>
</ul>

<p style="margin-top: 6mm">Prosimy o podpisanie {{ term("printing.order", "gen") }}
  i odesłanie go{% if owner %} na adres {{ owner.email }}{% endif %}.
  Podpisując, Zamawiający potwierdza przyjęcie powyższych warunków.</p>

<table class="signatures"><tr>
  <td>
    <div style="height: 14mm"></div>
    <div class="line">Za Wykonawcę{% if owner %}: {{ owner.name }}{% endif %}</div>
  </td>
  <td>
    <div style="height: 14mm"></div>
    <div class="line">Data, pieczęć i podpis osoby upoważnionej do reprezentowania
      Zamawiającego</div>
  </td>
</tr></table>
</div>
"""

# --- The production order (PR-6: internal, once the signed order is back) ----------------

# The confirmations of the project's custom fields (fields.py), shown when given.
PRODUCTION_ORDER = STYLE + """{% set confirmations = [
  ("printing_signed_order", "Podpisane zamówienie wróciło"),
  ("printing_no_overdue", "Brak zaległych płatności (księgowość)"),
  ("printing_documents_received", "Dokumenty rejestrowe otrzymane"),
] %}
<div class="doc">
""" + _letterhead("Zlecenie produkcyjne") + """
<p class="label">Dokument wewnętrzny — nie przekazywać klientowi</p>

<table class="facts">
  <tr><td class="key">{{ term("printing.project") }}</td>
      <td><strong>{{ case.title }}</strong></td></tr>
  {% if organisation %}
  <tr><td class="key">Klient</td>
      <td>{{ organisation.name }}
        {%- if organisation.city %}, {{ organisation.city }}{% endif %}</td></tr>
  {% endif %}
  {% if owner %}
  <tr><td class="key">Opiekun klienta</td><td>{{ owner.name }} ({{ owner.email }})</td></tr>
  {% endif %}
  {% if case.phase %}
  <tr><td class="key">Etap</td><td class="cap">{{ case.phase }}</td></tr>
  {% endif %}
  {% for key, label in confirmations if case.custom.get(key) %}
  <tr><td class="key">{{ label }}</td><td>{{ case.custom.get(key) }}</td></tr>
  {% endfor %}
</table>

<h2>Specyfikacja</h2>
{% if case.description %}
<div class="text">{{ case.description }}</div>
{% else %}
<p>Specyfikację uzgodnić z opiekunem klienta przed rozpoczęciem produkcji.</p>
{% endif %}

{% if people %}
<h2>Osoby do kontaktu</h2>
<table class="items">
  <tr><th>Imię i nazwisko</th><th>Rola</th><th>Telefon</th><th>E-mail</th></tr>
  {% for person in people %}
  <tr><td>{{ person.full_name }}</td><td>{{ person.role }}</td>
      <td>{{ person.phone }}</td><td>{{ person.email }}</td></tr>
  {% endfor %}
</table>
{% endif %}

<h2>Przebieg produkcji</h2>
<table class="items">
  <tr><th style="width: 40%">Etap</th><th>Data</th><th>Podpis</th></tr>
  <tr><td><span class="check">☐</span> Pliki sprawdzone (studio)</td><td></td><td></td></tr>
  <tr><td><span class="check">☐</span> Wydruk</td><td></td><td></td></tr>
  <tr><td><span class="check">☐</span> Wykończenie / konfekcja</td><td></td><td></td></tr>
  <tr><td><span class="check">☐</span> Kontrola jakości</td><td></td><td></td></tr>
  <tr><td><span class="check">☐</span> Spakowano, gotowe do wydania</td><td></td><td></td></tr>
</table>

<table class="signatures"><tr>
  <td>
    <div style="height: 10mm"></div>
    <div class="line">Zlecił{% if owner %}: {{ owner.name }}{% endif %}</div>
  </td>
  <td>
    <div style="height: 10mm"></div>
    <div class="line">Przyjął do realizacji (kierownik produkcji)</div>
  </td>
</tr></table>
</div>
"""

TEMPLATES = [
    Template("printing.offer", "offer", "case", {"pl": "Oferta", "en": "Offer"}, OFFER,
             series=Series("printing.offer", "Oferty", "OF/{year}/{seq:04}")),
    Template("printing.order", "order", "case", {"pl": "Zamówienie", "en": "Order"}, ORDER,
             series=Series("printing.order", "Zamówienia", "ZAM/{year}/{seq:04}"),
             kind_title={"pl": "Zamówienie", "en": "Order"}),
    Template("printing.production_order", "production_order", "case",
             {"pl": "Zlecenie produkcyjne", "en": "Production order"}, PRODUCTION_ORDER,
             series=Series("printing.production", "Zlecenia produkcyjne",
                           "ZP/{year}/{month}/{seq:03}", reset="monthly"),
             kind_title={"pl": "Zlecenie produkcyjne", "en": "Production order"}),
]
