"""The default offer of the expert-opinion firm (CORE-10, EX-3, EX-4): what the department
will prepare, which experts, and for what price.

The offer goes to the client, so it shows the price only: the estimated cost and the
margin the approvals look at are the firm's own and never appear in it. It is shipped
once; from then on it is the administrators' to edit. Optional data is always asked for
first: an inquiry with no department, no experts, no amount or no client renders.
"""

from core.documents import Series, Template

STYLE = """<style>
  .doc { color: #1b2430; font-size: 10pt; }
  .cap::first-letter, td.key::first-letter { text-transform: uppercase; }
  table.head { margin-bottom: 6mm; border-bottom: 2pt solid #1f3a5f; }
  table.head td { border: none; padding: 0 0 4mm 0; vertical-align: top; }
  table.head td.title { width: 34%; text-align: right; }
  table.head td.logo { width: 1%; padding-right: 5mm; }
  img.logo { max-width: 50mm; }
  .company { font-size: 12pt; font-weight: bold; color: #1f3a5f; }
  .details { font-size: 8pt; color: #566070; line-height: 1.35; }
  h1 { font-size: 19pt; margin: 0; color: #1f3a5f; text-transform: uppercase;
       letter-spacing: 1pt; }
  .number { font-size: 11pt; font-weight: bold; margin-top: 1mm; }
  .dated { font-size: 9pt; color: #566070; }
  .label { font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.6pt;
           color: #6a7482; margin-bottom: 1mm; }
  table.parties { margin-bottom: 5mm; }
  table.parties td { border: none; width: 50%; padding: 0 6mm 0 0; vertical-align: top; }
  .party-name { font-weight: bold; }
  h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm; page-break-after: avoid; color: #1f3a5f; }
  .text { white-space: pre-line; }
  table.facts td { vertical-align: top; }
  table.facts td.key { width: 32%; background: #f2f5f9; font-size: 9pt; }
  table.facts tr.price td { font-weight: bold; font-size: 12pt; }
  table.items th { background: #f2f5f9; font-size: 8.5pt; }
  .words { font-size: 9.5pt; margin-top: 2mm; }
  ul.terms { padding-left: 5mm; margin: 0; }
  ul.terms li { margin-bottom: 1mm; }
  table.signatures { margin-top: 6mm; page-break-inside: avoid; }
  table.signatures td { border: none; width: 50%; text-align: center; padding: 0 8mm;
                        vertical-align: top; }
  .line { border-top: 0.5pt dotted #566070; padding-top: 1mm; font-size: 8pt;
          color: #566070; }
</style>
"""

# The experts are the people of the inquiry whose role says so ("biegły", "biegła
# sądowa", "expert"), as the process's check reads them (process.py).
OFFER = STYLE + """{% set department = case.custom.get("expertise_department", "") %}
<div class="doc">
<table class="head"><tr>
  {% if company.logo %}
  <td class="logo"><img class="logo" src="{{ company.logo }}" alt=""></td>
  {% endif %}
  <td>
    <div class="company">{{ company.name }}</div>
    <div class="details">{% for line in company.details %}{{ line }}<br>{% endfor %}</div>
  </td>
  <td class="title">
    <h1>Oferta</h1>
    {% if document.number %}<div class="number">nr {{ document.number }}</div>{% endif %}
    <div class="dated">Data: {{ day(today) }}</div>
  </td>
</tr></table>

<table class="parties"><tr>
  <td>
    {% if organisation %}
    <div class="label">Dla</div>
    <div class="party-name">{{ organisation.name }}</div>
    {% if organisation.street %}<div>{{ organisation.street }}</div>{% endif %}
    {% if organisation.postal_code or organisation.city %}
    <div>{{ organisation.postal_code }} {{ organisation.city }}</div>
    {% endif %}
    {% if organisation.country and organisation.country != "PL" %}
    <div>{{ organisation.country }}</div>
    {% endif %}
    {% if organisation.nip %}<div>NIP: {{ organisation.nip }}</div>{% endif %}
    {% endif %}
  </td>
  <td>
    {% if owner %}
    <div class="label">Prowadzi sprawę</div>
    <div class="party-name">{{ owner.name }}</div>
    <div>{{ owner.email }}</div>
    {% endif %}
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>w odpowiedzi na Państwa {{ term("expertise.inquiry", "acc") }}
  <strong>„{{ case.title }}”</strong> przedstawiamy ofertę sporządzenia
  {{ term("expertise.opinion", "gen") }}.</p>

<table class="facts">
  <tr><td class="key">Przedmiot</td><td><strong>{{ case.title }}</strong></td></tr>
  {% if department %}
  <tr><td class="key">{{ term("expertise.department") }}</td><td>{{ department }}</td></tr>
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
  <tr><th style="width: 50%">Imię i nazwisko</th><th>Rola</th></tr>
  {% for person in people if "biegł" in person.role|lower or "expert" in person.role|lower %}
  <tr><td>{{ person.full_name }}</td><td>{{ person.role }}</td></tr>
  {% else %}
  <tr><td colspan="2">Skład zespołu wskażemy po przyjęciu oferty.</td></tr>
  {% endfor %}
</table>

<h2>Warunki</h2>
<ul class="terms">
  {% if case.amount is none %}
  <li>Cenę podamy po zapoznaniu się z dokumentacją sprawy.</li>
  {% endif %}
  <li>Termin sporządzenia {{ term("expertise.opinion", "gen") }} uzgodnimy po otrzymaniu
    kompletu dokumentów i, jeśli będzie potrzebne, po oględzinach.</li>
  <li>Płatność: przelewem w terminie 14 dni od daty wystawienia faktury.</li>
  <li>Oferta jest ważna <strong>30 dni</strong> od daty wystawienia.</li>
</ul>

<p style="margin-top: 6mm">Prosimy o potwierdzenie przyjęcia oferty podpisem i odesłanie jej
  {% if owner %}na adres {{ owner.email }}{% else %}do nas{% endif %}.</p>

<table class="signatures"><tr>
  <td>
    <div>Z poważaniem</div>
    <div style="height: 10mm"></div>
    <div class="line">{% if owner %}{{ owner.name }}, {% endif %}{{ company.name }}</div>
  </td>
  <td>
    <div>Przyjmuję ofertę</div>
    <div style="height: 10mm"></div>
    <div class="line">Data i podpis Zamawiającego</div>
  </td>
</tr></table>
</div>
"""

TEMPLATES = [
    Template("expertise.offer", "offer", "case",
             {"pl": "Oferta sporządzenia opinii", "en": "Offer for an expert opinion"}, OFFER,
             series=Series("expertise.offer", "Oferty", "OF/EKS/{year}/{seq:04}")),
]
