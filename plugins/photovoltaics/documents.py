"""Default documents of the installer (CORE-10, PV-1 to PV-4): the offer for the
installation the design department priced, with the components of its latest version;
the contract with the payment in two parts, an advance before installation and the rest
after completion; and the notice of the connected micro-installation to the grid
operator.

They are shipped once; from then on they are the administrators' to edit. Every body is
a whole HTML page of its own: its colours and text, with the letterhead, the parties and
the signatures included from the parts every document shares (core.documents.PARTIALS).
Optional data is always asked for first: an installation with no amount, no client, no
power or no adviser renders.
"""

from core.documents import Series, Template

# The installer's colours and what only its documents have; the rest of the look is
# shared (core/pdf.py's PAGE_CSS), as are the letterhead, the client and the signatures
# (core.documents.PARTIALS).
STYLE = """<style>
  :root { --accent: #2e7d32; --tint: #f3f8f3; }
  .doc { color: #1d2a22; }
  h3 { font-size: 10.5pt; text-align: center; margin: 5mm 0 2mm; page-break-after: avoid; }
  table.facts tr.price td { background: #fff8e1; }
</style>
"""

# The installation's power as the design put it on the case (fields.py), "9,84 kWp", else
# as the client's card says; the site is the client firm's address or the household's.
POWER = """{% set power = case.custom.get("photovoltaics_power", "")
  or (organisation.custom.get("photovoltaics_power", "") if organisation else "") %}
{% set site = organisation if organisation else (people[0] if people else none) %}
"""

ADDRESS = """{% if site.street %}{{ site.street }}, {% endif %}
{{ site.postal_code }} {{ site.city }}"""

# A line's quantity: "20" for whole pieces, "12,50" for metres of cable.
QUANTITY = "{{ number(line.quantity, 0 if line.quantity == line.quantity|round else 2) }}"

# The components of the latest version of the offer, at the customer's prices.
LINES = """{% if calculation and calculation.lines %}
<h2>Zestawienie{% if calculation.number > 1 %} (wersja {{ calculation.number }}){% endif %}</h2>
<table class="items">
  <tr><th>Pozycja</th><th class="money">Ilość</th><th class="money">Cena netto</th>
      <th class="money">VAT</th><th class="money">Wartość brutto</th></tr>
  {% for line in calculation.lines %}
  <tr><td>{{ line.description }}</td>
      <td class="money">""" + QUANTITY + """ {{ line.unit }}</td>
      <td class="money">{{ money(line.unit_price, calculation.currency) }}</td>
      <td class="money">{{ line.vat_rate }}{% if line.vat_rate|int(-1) >= 0 %}%{% endif %}</td>
      <td class="money">{{ money(line.gross, calculation.currency) }}</td></tr>
  {% endfor %}
  <tr class="total"><td colspan="4">Razem netto / VAT / brutto</td>
      <td class="money">{{ money(calculation.net, calculation.currency) }}<br>
        {{ money(calculation.vat, calculation.currency) }}<br>
        <strong>{{ money(calculation.gross, calculation.currency) }}</strong></td></tr>
</table>
{% endif %}
"""

# --- The offer (PV-1) ----------------------------------------------------------------------

OFFER = STYLE + POWER + """<div class="doc">
{% set title = "Oferta" %}
{% set subtitle = "instalacja fotowoltaiczna" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    {% set label = "Dla" %}
    {% include "client.html" %}
  </td>
  <td>
    {% set label = "Doradca klienta" %}
    {% include "owner.html" %}
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
  {% if site and (site.street or site.city) %}
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
""" + LINES + """
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

{% set left = "" %}
{% set right_above = "Z poważaniem" %}
{% set right %}
  {%- if owner %}{{ owner.name }}, doradca klienta{% else %}{{ company.name }}{% endif -%}
{% endset %}
{% include "signatures.html" %}
</div>
"""

# --- The contract (PV-2, PV-3) ---------------------------------------------------------------

# The advance, in per cent of the price: an administrator changes it here.
CONTRACT = STYLE + POWER + """{% set advance_percent = 30 %}
<div class="doc">
{% set title = term("photovoltaics.contract") %}
{% set subtitle = "dostawy i montażu instalacji fotowoltaicznej" %}
{% include "letterhead.html" %}
<p>zawarta w dniu {{ day(today) }} pomiędzy:</p>

<table class="parties"><tr>
  <td>
    {% set label = "Wykonawca" %}
    {% include "issuer.html" %}
    <div>— dalej „Wykonawca”,</div>
  </td>
  <td>
    {% set label = "Zamawiający" %}
    {% include "client.html" %}
    {% if not organisation and not people %}
    <div class="label">{{ label }}</div>
    <div style="height: 10mm"></div>
    {% endif %}
    <div>— dalej „Zamawiający”.</div>
  </td>
</tr></table>

<h3>§ 1. Przedmiot umowy</h3>
<ol class="points">
  <li>Wykonawca dostarczy, zamontuje i uruchomi instalację fotowoltaiczną
    „{{ case.title }}”{% if power %} o mocy {{ power }}{% endif %}
    {%- if site and (site.street or site.city) %}
    pod adresem: """ + ADDRESS + """{% endif %}, zgodnie z projektem zaakceptowanym przez
    Zamawiającego.</li>
  {% if calculation and calculation.lines %}
  <li>Zestawienie urządzeń i prac:
    <ul class="terms">{% for line in calculation.lines %}
      <li>{{ line.description }}: """ + QUANTITY + """ {{ line.unit }}</li>{% endfor %}
    </ul></li>
  {% endif %}
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

{% set left %}Wykonawca{% if owner %} ({{ owner.name }}){% endif %}{% endset %}
{% set right = "Zamawiający" %}
{% include "signatures.html" %}
</div>
"""

# --- The grid operator's notification (PV-4) ---------------------------------------------------

# What the installer sends the distribution system operator once a micro-installation is
# connected: the metering point, the client, the power and the devices.
GRID = STYLE + POWER + """{% set custom = case.custom %}
<div class="doc">
{% set title = "Zgłoszenie mikroinstalacji" %}
{% set subtitle = "do operatora systemu dystrybucyjnego" %}
{% include "letterhead.html" %}
<table class="parties"><tr>
  <td>
    <div class="label">Adresat</div>
    <div class="party-name">{{ custom.get("photovoltaics_grid_operator", "")
      or "Operator systemu dystrybucyjnego" }}</div>
  </td>
  <td>
    {% set label = "Wytwórca (odbiorca końcowy)" %}
    {% include "client.html" %}
  </td>
</tr></table>

<p>Zgłaszamy przyłączenie mikroinstalacji fotowoltaicznej do sieci dystrybucyjnej
  w imieniu odbiorcy końcowego, na podstawie udzielonego pełnomocnictwa.</p>

<table class="facts">
  <tr><td class="key">Dotyczy</td><td>{{ case.title }}</td></tr>
  <tr><td class="key">Numer punktu poboru energii (PPE)</td>
      <td>{{ custom.get("photovoltaics_ppe", "") or "…………………………" }}</td></tr>
  {% if site and (site.street or site.city) %}
  <tr><td class="key">Miejsce przyłączenia</td><td>""" + ADDRESS + """</td></tr>
  {% endif %}
  <tr><td class="key">Moc zainstalowana</td><td>{{ power or "…………" }}</td></tr>
  <tr><td class="key">Moduły fotowoltaiczne</td>
      <td>{{ custom.get("photovoltaics_panel_count", "") }}
        {% if custom.get("photovoltaics_panel_count", "") %}×{% endif %}
        {{ custom.get("photovoltaics_panel_model", "") }}</td></tr>
  <tr><td class="key">Falownik</td>
      <td>{{ custom.get("photovoltaics_inverter_count", "") }}
        {% if custom.get("photovoltaics_inverter_count", "") %}×{% endif %}
        {{ custom.get("photovoltaics_inverter_model", "") }}</td></tr>
  <tr><td class="key">Magazyn energii</td>
      <td>{{ custom.get("photovoltaics_storage", "") or "nie" }}</td></tr>
  <tr><td class="key">Instalator</td><td>{{ company.name }}</td></tr>
</table>

<h2>Załączniki</h2>
<ul class="terms">
  <li>schemat jednokreskowy instalacji;</li>
  <li>certyfikat zgodności falownika z wymaganiami NC RfG;</li>
  <li>protokół z pomiarów elektrycznych;</li>
  <li>pełnomocnictwo odbiorcy końcowego.</li>
</ul>

{% set left = "" %}
{% set right_above = "W imieniu instalatora" %}
{% set right %}{% if owner %}{{ owner.name }}{% else %}{{ company.name }}{% endif %}{% endset %}
{% include "signatures.html" %}
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
    Template("photovoltaics.grid_notification", "letter", "case",
             {"pl": "Zgłoszenie mikroinstalacji do operatora sieci",
              "en": "Micro-installation notice to the grid operator"},
             GRID,
             series=Series("photovoltaics.grid", "Zgłoszenia do OSD", "OSD/{year}/{seq:04}")),
]
