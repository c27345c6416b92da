"""HTML drawn as PDF by WeasyPrint: A4 pages, the issuer in the header, page numbers.

Only the installation's logo may be loaded from outside the document's text: no other
file and no address, so a template cannot read the server's files or reach the network.
A logo that is missing is left out of the page.
"""

from __future__ import annotations

from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from core.config import Settings

LOGO_URL = "kartoteka:logo"  # what templates write as the logo's address
PAGE_CSS = """
@page { size: A4; margin: 22mm 18mm 20mm 18mm;
  @top-left { content: string(company); font-size: 8pt; color: #555; }
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; }
}
html { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.4; }
.company { string-set: company content(text); }
img.logo { max-height: 18mm; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; }

/* The documents' common look (core.documents.PARTIALS and the plugins' templates). A
   template sets its colours with :root { --accent: #c2185b; --tint: #fdf2f7; }. */
.doc { color: #1f2328; font-size: 10pt; }
.cap::first-letter, td.key::first-letter { text-transform: uppercase; }
table.head { margin-bottom: 6mm; border-bottom: 2pt solid var(--accent, #1f3a5f); }
table.head td { border: none; padding: 0 0 4mm 0; vertical-align: top; }
table.head td.title { width: 34%; text-align: right; }
table.head td.logo { width: 1%; padding-right: 5mm; }
img.logo { max-width: 50mm; }
.company { font-size: 12pt; font-weight: bold; color: var(--company, inherit); }
.details { font-size: 8pt; color: #57606a; line-height: 1.35; }
h1 { font-size: 19pt; margin: 0; color: var(--accent, #1f3a5f); text-transform: uppercase;
     letter-spacing: 1pt; }
.subtitle { font-size: 10pt; color: #57606a; }
.number { font-size: 11pt; font-weight: bold; margin-top: 1mm; }
.dated { font-size: 9pt; color: #57606a; }
.label { font-size: 7.5pt; text-transform: uppercase; letter-spacing: 0.6pt;
         color: #6e7781; margin-bottom: 1mm; }
table.parties { margin-bottom: 5mm; }
table.parties td { border: none; width: 50%; padding: 0 6mm 0 0; vertical-align: top; }
.party-name { font-weight: bold; }
h2 { font-size: 11.5pt; margin: 5mm 0 1.5mm; page-break-after: avoid;
     color: var(--accent, #1f3a5f); }
.text { white-space: pre-line; }
table.facts td { vertical-align: top; }
table.facts td.key { width: 32%; background: var(--tint, #f6f8fa); font-size: 9pt; }
table.facts tr.price td { font-weight: bold; font-size: 12pt; }
table.items th { background: var(--tint, #f6f8fa); font-size: 8.5pt; }
table.items td.money, table.items th.money { text-align: right; white-space: nowrap; }
table.items tr.total td { font-weight: bold; }
.words { font-size: 9.5pt; margin-top: 2mm; }
ul.terms, ol.points { padding-left: 5mm; margin: 0; }
ul.terms li, ol.points li { margin-bottom: 1mm; }
table.signatures { margin-top: 6mm; page-break-inside: avoid; }
table.signatures td { border: none; width: 50%; text-align: center; padding: 0 8mm;
                      vertical-align: top; }
table.signatures .space { height: 12mm; }
.line { border-top: 0.5pt dotted #57606a; padding-top: 1mm; font-size: 8pt; color: #57606a; }
.note { font-size: 8pt; color: #6e7781; margin-top: 8mm; }
"""
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".svg": "image/svg+xml"}


class _OnlyTheLogo(URLFetcher):
    def __init__(self, settings: Settings | None):
        super().__init__(allowed_protocols=())
        self.settings = settings

    def fetch(self, url, headers=None):
        path = logo_path(self.settings) if self.settings is not None else None
        if url == LOGO_URL and path is not None and path.is_file():
            return URLFetcherResponse(url, body=path.read_bytes(), headers={
                "Content-Type": IMAGE_TYPES.get(path.suffix.lower(), "image/png")})
        raise ValueError(f"{url} may not be loaded in a document")


def render(html: str, settings: Settings | None) -> bytes:
    fetcher = _OnlyTheLogo(settings)
    return HTML(string=html, url_fetcher=fetcher, base_url=LOGO_URL).write_pdf(
        stylesheets=[CSS(string=PAGE_CSS, url_fetcher=fetcher)])


def logo_path(settings: Settings) -> Path | None:
    if not settings.logo_file:
        return None
    path = Path(settings.logo_file)
    return path if path.is_absolute() else settings.instance / path
