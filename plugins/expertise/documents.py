"""The default offer of the expert-opinion firm (CORE-10, EX-3, EX-4): what the department
will prepare, which experts, and for what price.

The offer goes to the client, so it shows the price only: the estimated cost and the
margin the approvals look at are the firm's own and never appear in it. It is shipped
once; from then on it is the administrators' to edit. Optional data is always asked for
first: an inquiry with no department, no experts, no amount or no client renders.
"""

from core.documents import Series, Template

# The firm's colours; the rest of the look is shared (core/pdf.py's PAGE_CSS), as are the
# letterhead, the client and the signatures (core.documents.PARTIALS).
STYLE = """<style>
  :root { --accent: #1f3a5f; --company: #1f3a5f; --tint: #f2f5f9; }
  .doc { color: #1b2430; }
</style>
"""

# The inquiry's department, court, deadline and experts come from the plugin
# (``{{ expertise.* }}``, inquiries.document_context); a preview of another record has
# none of them.
OFFER = STYLE + """{% set inquiry = expertise if expertise is defined else {
  "specialisation": "", "department": "", "court": "", "court_reference": "",
  "due_on": "", "experts": [], "parties": []} %}
<div class="doc">
{% set title = "Oferta" %}
{% include "letterhead.html" %}

<table class="parties"><tr>
  <td>
    {% set label = "Dla" %}
    {% include "client.html" %}
  </td>
  <td>
    {% set label = "Prowadzi sprawę" %}
    {% include "owner.html" %}
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>w odpowiedzi na Państwa {{ term("expertise.inquiry", "acc") }}
  <strong>„{{ case.title }}”</strong> przedstawiamy ofertę sporządzenia
  {{ term("expertise.opinion", "gen") }}.</p>

<table class="facts">
  <tr><td class="key">Przedmiot</td><td><strong>{{ case.title }}</strong></td></tr>
  {% if inquiry.specialisation %}
  <tr><td class="key">{{ term("expertise.specialisation")|capitalize }}</td>
      <td>{{ inquiry.specialisation }}</td></tr>
  {% endif %}
  {% if inquiry.department %}
  <tr><td class="key">{{ term("expertise.department")|capitalize }}</td>
      <td>{{ inquiry.department }}</td></tr>
  {% endif %}
  {% if inquiry.court %}
  <tr><td class="key">Sąd</td><td>{{ inquiry.court }}{% if inquiry.court_reference %},
      {{ term("expertise.court_reference") }} {{ inquiry.court_reference }}{% endif %}</td></tr>
  {% endif %}
  {% if inquiry.due_on %}
  <tr><td class="key">Termin</td><td>{{ inquiry.due_on }}</td></tr>
  {% endif %}
  {% if case.amount is not none %}
  <tr class="price"><td class="key">Cena</td>
      <td>{{ money(case.amount, case.currency) }}</td></tr>
  {% endif %}
</table>
{% if case.amount is not none %}
<div class="words">Słownie: {{ words(case.amount, case.currency) }}.
  Do ceny zostanie doliczony podatek VAT według obowiązującej stawki.</div>
{% endif %}

{% if case.description %}
<h2>Zakres opracowania</h2>
<div class="text">{{ case.description }}</div>
{% endif %}

<h2 class="cap">{{ term("expertise.expert", "nom", 2) }}</h2>
<table class="items">
  <tr><th>Imię i nazwisko</th></tr>
  {% for expert in inquiry.experts %}
  <tr><td>{{ expert.name }}</td></tr>
  {% else %}
  <tr><td>Skład zespołu wskażemy po przyjęciu oferty.</td></tr>
  {% endfor %}
</table>

<h2>Warunki</h2>
<ul class="terms">
  {% if case.amount is none %}
  <li>Cenę podamy po zapoznaniu się z dokumentacją sprawy.</li>
  {% endif %}
  {% if not inquiry.due_on %}
  <li>Termin sporządzenia {{ term("expertise.opinion", "gen") }} uzgodnimy po otrzymaniu
    kompletu dokumentów i, jeśli będzie potrzebne, po oględzinach.</li>
  {% endif %}
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
  <li>Oferta jest ważna <strong>30 dni</strong> od daty wystawienia.</li>
</ul>

<p style="margin-top: 6mm">Prosimy o potwierdzenie przyjęcia oferty podpisem i odesłanie jej
  {% if owner %}na adres {{ owner.email }}{% else %}do nas{% endif %}.</p>

{% set left_above = "Z poważaniem" %}
{% set left %}{% if owner %}{{ owner.name }}, {% endif %}{{ company.name }}{% endset %}
{% set right_above = "Przyjmuję ofertę" %}
{% set right = "Data i podpis Zamawiającego" %}
{% include "signatures.html" %}
</div>
"""

TEMPLATES = [
    Template("expertise.offer", "offer", "case",
             {"pl": "Oferta sporządzenia opinii", "en": "Offer for an expert opinion"}, OFFER,
             series=Series("expertise.offer", "Oferty", "OF/EKS/{year}/{seq:04}")),
]
