"""Where the static assets and the fonts live: in a checkout or in an installed wheel.

A leaf (standard library only), so the PDF report finds its fonts without importing the web app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final


def _assets_dir() -> Path:
    """``assets/`` beside the packages in a checkout; ``dashboard/static_assets`` in a wheel."""
    here = Path(__file__).resolve().parent
    packaged = here / "static_assets"
    return packaged if packaged.is_dir() else here.parent / "assets"


ASSETS_DIR: Final = _assets_dir()
# The page's plotly.js (scatter, bar, pie), which the PDF's Kaleido loads too: the same
# drawing as the page, and Chromium starts in ≈ 1 s instead of ≈ 3.4 s with plotly.py's
# full bundle parsed in every tab.
PLOTLY_JS: Final = ASSETS_DIR / "plotly-basic.min.js"
# A copy shipped under assets/fonts/ first (for machines without the Debian package; the
# chart images still need a system Korean font for Chromium), then Debian's fonts-nanum.
FONT_DIRS: Final[tuple[Path, ...]] = (
    ASSETS_DIR / "fonts",
    Path("/usr/share/fonts/truetype/nanum"),
)
