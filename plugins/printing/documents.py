"""Default documents of the printing house (CORE-10, PR-4 to PR-8): the offer sent once
the calculation is approved, the order the client signs, the internal production
order made once the signed order is back, and the answer to a complaint.

They are shipped once; from then on they are the administrators' to edit. Every body is
a whole HTML page of its own: its colours and text, with the letterhead, the client and
the signatures included from the parts every document shares (core.documents.PARTIALS)
and the common look from core/pdf.py. Optional data is always asked for first: a project
with no amount, no client, no account manager or no custom fields still renders.
"""

from core.documents import Series, Template
from plugins.printing.complaints import COMPLAINT, OUTCOME_RECORDED
from plugins.printing.process import (
    CALCULATION_APPROVED,
    DOCUMENTS,
    NO_OVERDUE,
    PROJECT,
    SIGNED_ORDER,
)

# The printing house's colours; the rest of the look is shared (core/pdf.py's PAGE_CSS),
# as are the letterhead, the client and the signatures (core.documents.PARTIALS).
STYLE = """<style>
  :root { --accent: #c2185b; --tint: #f6f8fa; }
  table.items tr.total td { background: #fdf2f7; }
  .check { font-size: 12pt; }
</style>
"""

# A line's quantity: "20" for whole pieces, "12,50" for square metres of banner.
QUANTITY = "{{ number(line.quantity, 0 if line.quantity == line.quantity|round else 2) }}"

# The items of the latest version of the calculation, at the customer's prices.
PRICED_LINES = """<table class="items">
  <tr><th style="width: 6%">Lp.</th><th>Pozycja</th><th class="money">Ilość</th>
      <th class="money">Cena netto</th><th class="money">VAT</th>
      <th class="money">Wartość brutto</th></tr>
  {% for line in calculation.lines %}
  <tr><td>{{ loop.index }}.</td><td>{{ line.description }}</td>
      <td class="money">""" + QUANTITY + """ {{ line.unit }}</td>
      <td class="money">{{ money(line.unit_price, calculation.currency) }}</td>
      <td class="money">{{ line.vat_rate }}{% if line.vat_rate|int(-1) >= 0 %}%{% endif %}</td>
      <td class="money">{{ money(line.gross, calculation.currency) }}</td></tr>
  {% endfor %}
  <tr class="total"><td></td><td colspan="4">Razem netto / VAT / brutto</td>
      <td class="money">{{ money(calculation.net, calculation.currency) }}<br>
        {{ money(calculation.vat, calculation.currency) }}<br>
        <strong>{{ money(calculation.gross, calculation.currency) }}</strong></td></tr>
</table>
<div class="words">Słownie: {{ words(calculation.gross, calculation.currency) }}.</div>
"""

# --- The offer (PR-4: sent once the calculation is approved) -----------------------------

OFFER = STYLE + """<div class="doc">
{% set title = "Oferta" %}
{% set dated = "Data wystawienia" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Dla" %}
    {% include "client.html" %}
  </td>
  <td>
    {% set label = term("printing.account_manager")|capitalize %}
    {% include "owner.html" %}
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
{% if calculation and calculation.lines %}
""" + PRICED_LINES + """
{% elif case.amount is not none %}
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
    prześle {{ term("printing.account_manager") }};
    przed drukiem każdy plik jest sprawdzany przez nasze studio.</li>
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
</ul>

<p style="margin-top: 6mm">W razie pytań pozostajemy do Państwa dyspozycji.</p>

{% set left = "" %}
{% set right_above = "Z poważaniem" %}
{% set right %}
  {%- if owner %}{{ owner.name }}, {{ term("printing.account_manager") -}}
  {% else %}{{ company.name }}{% endif -%}
{% endset %}
{% include "signatures.html" %}
</div>
"""

# --- The order (PR-5: generated when the client agrees, signed by the client) ------------

ORDER = STYLE + """<div class="doc">
{% set title = term("printing.order") %}
{% set dated = "Data wystawienia" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Wykonawca" %}
    {% include "issuer.html" %}
  </td>
  <td>
    {% set label = "Zamawiający" %}
    {% include "client.html" %}
  </td>
</tr></table>

<p>Zamawiający zamawia u Wykonawcy wykonanie {{ term("printing.project", "gen") }}
  <strong>„{{ case.title }}”</strong> na warunkach określonych poniżej.</p>

{% if case.description %}
<h2>Przedmiot zamówienia</h2>
<div class="text">{{ case.description }}</div>
{% endif %}

<h2>Wartość zamówienia</h2>
{% if calculation and calculation.lines %}
""" + PRICED_LINES + """
{% elif case.amount is not none %}
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
  <li>Termin i miejsce dostawy ustala z Zamawiającym {{ term("printing.account_manager") }}.</li>
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
  <li>Reklamacje przyjmujemy na piśmie lub pocztą elektroniczną w terminie 7 dni od dnia
    dostawy.</li>
</ul>

<p style="margin-top: 6mm">Prosimy o podpisanie {{ term("printing.order", "gen") }}
  i odesłanie go{% if owner %} na adres {{ owner.email }}{% endif %}.
  Podpisując, Zamawiający potwierdza przyjęcie powyższych warunków.</p>

{% set left %}Za Wykonawcę{% if owner %}: {{ owner.name }}{% endif %}{% endset %}
{% set right = "Data, pieczęć i podpis osoby upoważnionej do reprezentowania Zamawiającego" %}
{% include "signatures.html" %}
</div>
"""

# --- The production order (PR-6: internal, once the signed order is back) ----------------

# The confirmations of the project's custom fields (fields.py), shown when given.
PRODUCTION_ORDER = STYLE + """{% set confirmations = [
  ("printing_signed_order", "Podpisane zamówienie wróciło"),
  ("printing_documents_received", "Dokumenty rejestrowe otrzymane"),
] %}
<div class="doc">
{% set title = "Zlecenie produkcyjne" %}
{% set dated = "Data wystawienia" %}
{% include "letterhead.html" %}
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
  <tr><td class="key">{{ term("printing.account_manager") }}</td>
      <td>{{ owner.name }} ({{ owner.email }})</td></tr>
  {% endif %}
  {% if case.phase %}
  <tr><td class="key">Etap</td><td class="cap">{{ case.phase }}</td></tr>
  {% endif %}
  {% for key, label in confirmations if case.custom.get(key) %}
  <tr><td class="key">{{ label }}</td><td>{{ case.custom.get(key) }}</td></tr>
  {% endfor %}
</table>

{% if calculation and calculation.lines %}
<h2>Do wykonania</h2>
<table class="items">
  <tr><th style="width: 6%">Lp.</th><th>Pozycja</th><th class="money">Ilość</th></tr>
  {% for line in calculation.lines %}
  <tr><td>{{ loop.index }}.</td><td>{{ line.description }}</td>
      <td class="money">""" + QUANTITY + """ {{ line.unit }}</td></tr>
  {% endfor %}
</table>
{% endif %}

<h2>Specyfikacja</h2>
{% if case.description %}
<div class="text">{{ case.description }}</div>
{% else %}
<p>Specyfikację uzgodnić z {{ term("printing.account_manager", "ins") }}
  przed rozpoczęciem produkcji.</p>
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

{% set left %}Zlecił{% if owner %}: {{ owner.name }}{% endif %}{% endset %}
{% set right = "Przyjął do realizacji (kierownik produkcji)" %}
{% include "signatures.html" %}
</div>
"""

# --- The answer to a complaint (PR-8: made from what everyone who took part said) -------

# The complaint's own fields (complaints.py) as people read them; its cost stays the
# house's own, as a project's does.
COMPLAINT_ANSWER = STYLE + """{% set complaint = case.custom %}
<div class="doc">
{% set title = "Odpowiedź na " ~ term("printing.complaint", "acc") %}
{% set dated = "Data" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Do" %}
    {% include "client.html" %}
  </td>
  <td>
    {% set label = term("printing.account_manager")|capitalize %}
    {% include "owner.html" %}
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>dziękujemy za zgłoszenie. Przedstawiamy wyniki wyjaśnienia sprawy i nasze rozstrzygnięcie.</p>

<table class="facts">
  <tr><td class="key">{{ term("printing.complaint")|capitalize }}</td>
      <td><strong>{{ case.title }}</strong></td></tr>
  {% if parent %}
  <tr><td class="key">{{ term("printing.project")|capitalize }}</td>
      <td>{{ parent.title }}</td></tr>
  {% endif %}
  {% if complaint.get("printing_complaint_product") %}
  <tr><td class="key">Produkt</td><td>{{ complaint.get("printing_complaint_product") }}</td></tr>
  {% endif %}
  <tr><td class="key">Data zgłoszenia</td><td>{{ day(case.created_at) }}</td></tr>
</table>

{% if complaint.get("printing_complaint_defect") %}
<h2>Zgłoszona wada</h2>
<div class="text">{{ complaint.get("printing_complaint_defect") }}</div>
{% endif %}

<h2>Wyjaśnienie</h2>
{% if notes %}
<p>Sprawę zbadały osoby, które uczestniczyły w realizacji zamówienia. Oto ich ustalenia:</p>
<table class="items">
  <tr><th style="width: 30%">Kto i kiedy</th><th>Ustalenia</th></tr>
  {% for note in notes %}
  <tr><td>{{ note.author }}<br>{{ day(note.at) }}</td>
      <td>{% if note.subject %}<strong>{{ note.subject }}</strong><br>{% endif %}
        <span class="text">{{ note.body }}</span></td></tr>
  {% endfor %}
</table>
{% else %}
<p>Sprawę wyjaśniamy z osobami, które uczestniczyły w realizacji zamówienia.</p>
{% endif %}

<h2>Rozstrzygnięcie</h2>
{% if complaint.get("printing_complaint_outcome") %}
<table class="facts">
  <tr><td class="key">Decyzja</td>
      <td><strong>{{ complaint.get("printing_complaint_outcome") }}</strong></td></tr>
  {% if complaint.get("printing_complaint_remedy") %}
  <tr><td class="key">Sposób załatwienia</td>
      <td>{{ complaint.get("printing_complaint_remedy") }}</td></tr>
  {% endif %}
</table>
{% else %}
<p>Rozstrzygnięcie przekażemy niezwłocznie po wyjaśnieniu sprawy.</p>
{% endif %}

<p style="margin-top: 6mm">W razie pytań pozostajemy do Państwa dyspozycji.</p>

{% set left = "" %}
{% set right_above = "Z poważaniem" %}
{% set right %}
  {%- if owner %}{{ owner.name }}, {{ term("printing.account_manager") }}
  {%- else %}{{ company.name }}{% endif -%}
{% endset %}
{% include "signatures.html" %}
</div>
"""

TEMPLATES = [
    Template("printing.offer", "offer", "case", {"pl": "Oferta", "en": "Offer"}, OFFER,
             series=Series("printing.offer", "Oferty", "OF/{year}/{seq:04}"),
             requires=(CALCULATION_APPROVED,), processes=(PROJECT.key,)),
    Template("printing.order", "order", "case", {"pl": "Zamówienie", "en": "Order"}, ORDER,
             series=Series("printing.order", "Zamówienia", "ZAM/{year}/{seq:04}"),
             kind_title={"pl": "Zamówienie", "en": "Order"}, processes=(PROJECT.key,),
             requires=(CALCULATION_APPROVED, NO_OVERDUE, DOCUMENTS)),
    Template("printing.production_order", "production_order", "case",
             {"pl": "Zlecenie produkcyjne", "en": "Production order"}, PRODUCTION_ORDER,
             series=Series("printing.production", "Zlecenia produkcyjne",
                           "ZP/{year}/{month}/{seq:03}", reset="monthly"),
             kind_title={"pl": "Zlecenie produkcyjne", "en": "Production order"},
             requires=(CALCULATION_APPROVED, SIGNED_ORDER), processes=(PROJECT.key,)),
    # Made once the outcome is recorded: an answer without it would say nothing.
    Template("printing.complaint_answer", "complaint_answer", "case",
             {"pl": "Odpowiedź na reklamację", "en": "Answer to a complaint"},
             COMPLAINT_ANSWER,
             series=Series("printing.complaint", "Odpowiedzi na reklamacje",
                           "REK/{year}/{seq:04}"),
             kind_title={"pl": "Odpowiedź na reklamację", "en": "Answer to a complaint"},
             requires=(OUTCOME_RECORDED,), processes=(COMPLAINT,)),
]
