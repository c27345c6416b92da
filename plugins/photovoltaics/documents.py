"""Default documents of the installer (CORE-10, PV-1 to PV-3): the offer for the
installation the design department priced, and the contract with the payment in two
parts, an advance before installation and the rest after completion.

They are shipped once; from then on they are the administrators' to edit. Every body is
a whole HTML page of its own (style, letterhead, text). Optional data is always asked
for first: an installation with no amount, no client, no power or no adviser renders.
"""

from core.documents import Series, Template

# --- Parts both documents share ----------------------------------------------------------

STYLE = """<style>
  .doc { color: #1d2a22; font-size: 10pt; }
  .cap::first-letter, td.key::first-letter { text-transform: uppercase; }
  table.head { margin-bottom: 6mm; border-bottom: 2pt solid #2e7d32; }
  table.head td { border: none; padding: 0 0 4mm 0; vertical-align: top; }
  table.head td.title { width: 34%; text-align: right; }
  table.head td.logo { width: 1%; padding-right: 5mm; }
  img.logo { max-width: 50mm; }
  .company { font-size: 12pt; font-weight: bold; }
  .details { font-size: 8pt; color: #55625a; line-height: 1.35; }
  h1 { font-size: 19pt; margin: 0; color: #2e7d32; text-transform: uppercase;
       letter-spacing: 1pt; }
  .subtitle { font-size: 10pt; color: #55625a; }
  .number { font-size: 11pt; font-weight: bold; margin-top: 1mm; }
  .dated { font-size: 9pt; color: #55625a; }
  .label { font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.6pt;
           color: #6b7a70; margin-bottom: 1mm; }
  table.parties { margin-bottom: 5mm; }
  table.parties td { border: none; width: 50%; padding: 0 6mm 0 0; vertical-align: top; }
  .party-name { font-weight: bold; }
  h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm; page-break-after: avoid; color: #2e7d32; }
  h3 { font-size: 10.5pt; text-align: center; margin: 5mm 0 2mm; page-break-after: avoid; }
  .text { white-space: pre-line; }
  table.facts td { vertical-align: top; }
  table.facts td.key { width: 32%; background: #f3f8f3; font-size: 9pt; }
  table.facts tr.price td { font-weight: bold; font-size: 12pt; background: #fff8e1; }
  table.items th { background: #f3f8f3; font-size: 8.5pt; }
  table.items td.money, table.items th.money { text-align: right; white-space: nowrap; }
  .words { font-size: 9.5pt; margin-top: 2mm; }
  ul.terms, ol.points { padding-left: 5mm; margin: 0; }
  ul.terms li, ol.points li { margin-bottom: 1mm; }
  table.signatures { margin-top: 6mm; page-break-inside: avoid; }
  table.signatures td { border: none; width: 50%; text-align: center; padding: 0 8mm;
                        vertical-align: top; }
  .line { border-top: 0.5pt dotted #55625a; padding-top: 1mm; font-size: 8pt;
          color: #55625a; }
</style>
"""


def _letterhead(title: str, subtitle: str = "") -> str:
    """The installer's letterhead with ``title`` (Jinja source) and the number and date."""
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
    """ + (f'<div class="subtitle">{subtitle}</div>' if subtitle else "") + """
    {% if document.number %}<div class="number">nr {{ document.number }}</div>{% endif %}
    <div class="dated">Data: {{ day(today) }}</div>
  </td>
</tr></table>
"""


# The installation's power is a custom field of the client (fields.py), "9,84 kWp".
POWER = ('{% set power = organisation.custom.get("photovoltaics_power", "")'
         ' if organisation else "" %}\n')

ADDRESS = """{% if organisation.street %}{{ organisation.street }}, {% endif %}
{{ organisation.postal_code }} {{ organisation.city }}"""

# --- The offer (PV-1) ----------------------------------------------------------------------

OFFER = STYLE + POWER + """<div class="doc">
""" + _letterhead("Oferta", "instalacja fotowoltaiczna") + """
<table class="parties"><tr>
  <td>
    {% if organisation %}
    <div class="label">Dla</div>
    <div class="party-name">{{ organisation.name }}</div>
    {% if organisation.street %}<div>{{ organisation.street }}</div>{% endif %}
    {% if organisation.postal_code or organisation.city %}
    <div>{{ organisation.postal_code }} {{ organisation.city }}</div>
    {% endif %}
    {% if organisation.nip %}<div>NIP: {{ organisation.nip }}</div>{% endif %}
    {% endif %}
  </td>
  <td>
    {% if owner %}
    <div class="label">Doradca klienta</div>
    <div class="party-name">{{ owner.name }}</div>
    <div>{{ owner.email }}</div>
    {% endif %}
  </td>
</tr></table>

<p>Szanowni Państwo,</p>
<p>dziękujemy za spotkanie i udostępnienie danych do {{ term("photovoltaics.audit", "gen") }}.
  Na ich podstawie nasz dział projektowy przygotował dla Państwa poniższą propozycję.</p>

<table class="facts">
  <tr><td class="key">{{ term("photovoltaics.installation") }}</td>
      <td><strong>{{ case.title }}</strong></td></tr>
  {% if power %}
  <tr><td class="key">Moc instalacji</td><td>{{ power }}</td></tr>
  {% endif %}
  {% if organisation and (organisation.street or organisation.city) %}
  <tr><td class="key">Miejsce montażu</td><td>""" + ADDRESS + """</td></tr>
  {% endif %}
  {% if case.description %}
  <tr><td class="key">Projekt</td><td class="text">{{ case.description }}</td></tr>
  {% endif %}
  {% if case.amount is not none %}
  <tr class="price"><td class="key">Cena brutto</td>
      <td>{{ money(case.amount, case.currency) }}</td></tr>
  {% endif %}
</table>
{% if case.amount is not none %}
<div class="words">Słownie: {{ words(case.amount, case.currency) }}.
  Cena zawiera podatek VAT.</div>
{% endif %}

<h2>Cena obejmuje</h2>
<ul class="terms">
  <li>moduły fotowoltaiczne, falownik i konstrukcję montażową dobrane w projekcie;</li>
  <li>okablowanie oraz zabezpieczenia po stronie DC i AC;</li>
  <li>montaż, uruchomienie i konfigurację monitoringu pracy instalacji;</li>
  <li>zgłoszenie instalacji do operatora sieci dystrybucyjnej;</li>
  <li>dokumentację powykonawczą i szkolenie z obsługi.</li>
</ul>

<h2>Warunki</h2>
<ul class="terms">
  <li>Płatność w dwóch częściach: {{ term("photovoltaics.advance_payment") }} przed
    rozpoczęciem montażu i {{ term("photovoltaics.final_payment") }} po jego zakończeniu
    i odbiorze.</li>
  <li>Termin montażu ustalimy wspólnie po podpisaniu umowy.</li>
  <li>Oferta jest ważna <strong>14 dni</strong> od daty wystawienia.</li>
</ul>

<p style="margin-top: 6mm">Chętnie odpowiemy na pytania i omówimy ewentualne zmiany
  w projekcie.</p>

<table class="signatures"><tr>
  <td></td>
  <td>
    <div>Z poważaniem</div>
    <div style="height: 10mm"></div>
    <div class="line">
      {% if owner %}{{ owner.name }}, doradca klienta{% else %}{{ company.name }}{% endif %}
    </div>
  </td>
</tr></table>
</div>
"""

# --- The contract (PV-2, PV-3) ---------------------------------------------------------------

# The advance, in per cent of the price: an administrator changes it here.
CONTRACT = STYLE + POWER + """{% set advance_percent = 30 %}
<div class="doc">
""" + _letterhead('{{ term("photovoltaics.contract") }}',
                  "dostawy i montażu instalacji fotowoltaicznej") + """
<p>zawarta w dniu {{ day(today) }} pomiędzy:</p>

<table class="parties"><tr>
  <td>
    <div class="label">Wykonawca</div>
    <div class="party-name">{{ company.name }}</div>
    {% for line in company.details %}<div>{{ line }}</div>{% endfor %}
    <div>— dalej „Wykonawca”,</div>
  </td>
  <td>
    <div class="label">Zamawiający</div>
    {% if organisation %}
    <div class="party-name">{{ organisation.name }}</div>
    {% if organisation.street %}<div>{{ organisation.street }}</div>{% endif %}
    {% if organisation.postal_code or organisation.city %}
    <div>{{ organisation.postal_code }} {{ organisation.city }}</div>
    {% endif %}
    {% if organisation.nip %}<div>NIP: {{ organisation.nip }}</div>{% endif %}
    {% else %}
    <div style="height: 10mm"></div>
    {% endif %}
    <div>— dalej „Zamawiający”.</div>
  </td>
</tr></table>

<h3>§ 1. Przedmiot umowy</h3>
<ol class="points">
  <li>Wykonawca dostarczy, zamontuje i uruchomi instalację fotowoltaiczną
    „{{ case.title }}”{% if power %} o mocy {{ power }}{% endif %}
    {%- if organisation and (organisation.street or organisation.city) %}
    pod adresem: """ + ADDRESS + """{% endif %}, zgodnie z projektem zaakceptowanym przez
    Zamawiającego.</li>
  {% if case.description %}
  <li>Zakres prac i zestawienie urządzeń: <div class="text">{{ case.description }}</div></li>
  {% endif %}
  <li>Wykonawca zgłosi instalację do operatora sieci dystrybucyjnej i przekaże
    Zamawiającemu dokumentację powykonawczą oraz karty gwarancyjne urządzeń.</li>
</ol>

<h3>§ 2. Termin</h3>
<ol class="points">
  <li>Montaż zostanie wykonany w terminie uzgodnionym przez Strony w harmonogramie prac,
    po zaksięgowaniu zaliczki.</li>
  <li>Zamawiający zapewni ekipie montażowej dostęp do dachu, miejsca montażu falownika
    i rozdzielnicy elektrycznej.</li>
</ol>

<h3>§ 3. Wynagrodzenie</h3>
{% if case.amount is not none %}
{% set advance = (case.amount * advance_percent / 100)|round(2) %}
<ol class="points">
  <li>Za wykonanie przedmiotu umowy Zamawiający zapłaci Wykonawcy wynagrodzenie ryczałtowe
    w wysokości <strong>{{ money(case.amount, case.currency) }}</strong> brutto
    (słownie: {{ words(case.amount, case.currency) }}).</li>
  <li>Wynagrodzenie jest płatne w dwóch częściach:
    <table class="items" style="margin: 2mm 0">
      <tr><th>Część</th><th>Termin</th><th class="money">Kwota</th></tr>
      <tr><td class="cap">{{ term("photovoltaics.advance_payment") }} ({{ advance_percent }}%)</td>
          <td>przed rozpoczęciem montażu, w ciągu 7 dni od zawarcia umowy, na podstawie
            faktury zaliczkowej</td>
          <td class="money">{{ money(advance, case.currency) }}</td></tr>
      <tr><td class="cap">{{ term("photovoltaics.final_payment") }}</td>
          <td>po zakończeniu montażu, w ciągu 7 dni od podpisania protokołu odbioru,
            na podstawie faktury końcowej</td>
          <td class="money">{{ money(case.amount - advance, case.currency) }}</td></tr>
    </table>
  </li>
  <li>Płatności będą dokonywane przelewem na rachunek bankowy Wykonawcy wskazany
    na fakturze.</li>
</ol>
{% else %}
<ol class="points">
  <li>Wynagrodzenie określa oferta zaakceptowana przez Zamawiającego.</li>
  <li>Wynagrodzenie jest płatne w dwóch częściach: {{ term("photovoltaics.advance_payment") }}
    przed rozpoczęciem montażu i {{ term("photovoltaics.final_payment") }} po podpisaniu
    protokołu odbioru, przelewem na rachunek bankowy Wykonawcy wskazany na fakturze.</li>
</ol>
{% endif %}

<h3>§ 4. Odbiór i gwarancja</h3>
<ol class="points">
  <li>Zakończenie prac Strony potwierdzą protokołem odbioru.</li>
  <li>Na urządzenia obowiązuje gwarancja producentów na warunkach z kart gwarancyjnych;
    na prace montażowe Wykonawca udziela gwarancji na okres wskazany w karcie gwarancyjnej
    wydanej przy odbiorze.</li>
</ol>

<h3>§ 5. Postanowienia końcowe</h3>
<ol class="points">
  <li>Zamawiający będący konsumentem, który zawarł umowę poza lokalem przedsiębiorstwa,
    może od niej odstąpić bez podania przyczyny w terminie 14 dni od jej zawarcia.</li>
  <li>Zmiany umowy wymagają formy pisemnej pod rygorem nieważności.</li>
  <li>W sprawach nieuregulowanych stosuje się przepisy Kodeksu cywilnego.</li>
  <li>Umowę sporządzono w dwóch jednobrzmiących egzemplarzach, po jednym dla każdej
    ze Stron.</li>
</ol>

{% if people %}
<p style="margin-top: 4mm">Osoby do kontaktu w sprawie realizacji:</p>
<ul class="terms">
  {% for person in people %}
  <li>{{ person.full_name }}{% if person.role %} ({{ person.role }}){% endif %}
    {%- if person.phone %}, tel. {{ person.phone }}{% endif %}
    {%- if person.email %}, {{ person.email }}{% endif %}</li>
  {% endfor %}
</ul>
{% endif %}

<table class="signatures"><tr>
  <td>
    <div style="height: 14mm"></div>
    <div class="line">Wykonawca{% if owner %} ({{ owner.name }}){% endif %}</div>
  </td>
  <td>
    <div style="height: 14mm"></div>
    <div class="line">Zamawiający</div>
  </td>
</tr></table>
</div>
"""

TEMPLATES = [
    Template("photovoltaics.offer", "offer", "case",
             {"pl": "Oferta instalacji fotowoltaicznej", "en": "Photovoltaic installation offer"},
             OFFER,
             series=Series("photovoltaics.offer", "Oferty instalacji", "OF/PV/{year}/{seq:04}")),
    Template("photovoltaics.contract", "contract", "case",
             {"pl": "Umowa na instalację fotowoltaiczną",
              "en": "Photovoltaic installation contract"},
             CONTRACT,
             series=Series("photovoltaics.contract", "Umowy", "UM/{year}/{seq:04}")),
]
