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
