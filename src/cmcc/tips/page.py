"""The public tip pages: Arabic first and right to left, English alongside, nothing external.

Every page is built here with its text escaped; style and script are inline and allowed by a
per-response nonce in the Content-Security-Policy. The map is the Gaza Strip's outline and its
governorates from `cmcc.geo.reference` (drawn as SVG, no tiles).
"""

from __future__ import annotations

import math
import secrets
from functools import lru_cache
from html import escape

from fastapi.responses import HTMLResponse

from cmcc.geo import reference
from cmcc.tips import claimcode
from cmcc.tips.domain import MAX_PLACE, MAX_TEXT, STATUS_TEXT
from cmcc.tips.pagescript import SCRIPT, STYLE
from cmcc.tips.schemas import TipStatusPublic

SCALE = 1000.0  # SVG units per degree of latitude
PAD = 0.02  # degrees around the outline


def both(arabic: str, english: str) -> str:
    return f'{escape(arabic)}<span class="en" lang="en" dir="ltr">{escape(english)}</span>'


@lru_cache(maxsize=1)
def map_svg() -> str:
    """The Strip and its governorates as an inline SVG (equirectangular, scaled by cos lat)."""
    features = reference.gaza()["features"]
    ring = reference.feature("gaza-strip")["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    minlon, maxlon = min(lons) - PAD, max(lons) + PAD
    minlat, maxlat = min(lats) - PAD, max(lats) + PAD
    kx = math.cos(math.radians((minlat + maxlat) / 2))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - minlon) * SCALE * kx, (maxlat - lat) * SCALE

    def path(coords: list[list[float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p[0], p[1]) for p in coords))

    width, height = xy(maxlon, minlat)
    parts = [f'<polygon class="strip" points="{path(ring)}"/>']
    for f in features:
        props = f["properties"]
        if props["kind"] != "administrative_area":
            continue
        parts.append(f'<polygon class="gov" points="{path(f["geometry"]["coordinates"][0])}"/>')
        x, y = xy(*props["label_at"])
        name = escape(props["name_ar"])
        parts.append(f'<text class="name" x="{x:.1f}" y="{y:.1f}">{name}</text>')
    sx, sy = xy(minlon + 0.06, minlat + 0.2)
    parts.append(f'<text class="sea" x="{sx:.1f}" y="{sy:.1f}">البحر المتوسط</text>')
    parts.append('<circle id="pin" class="pin" r="5" cx="0" cy="0" visibility="hidden"/>')
    return (
        f'<svg id="map" viewBox="0 0 {width:.1f} {height:.1f}" role="img" '
        f'aria-label="خريطة قطاع غزة / map of the Gaza Strip" data-scale="{SCALE}" '
        f'data-kx="{kx:.6f}" data-minlon="{minlon:.5f}" data-maxlat="{maxlat:.5f}">'
        + "".join(parts)
        + "</svg>"
    )


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = (
        '<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">'
        f'<title>{escape(title)}</title><style nonce="{nonce}">{STYLE}</style></head>'
        f'<body><main>{body}</main><script nonce="{nonce}">{SCRIPT}</script></body></html>'
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    return HTMLResponse(html, status_code, headers={"Content-Security-Policy": csp})


NOT_KEPT = both(
    "لا نحفظ عنوانك ولا اسم جهازك ولا أي ملفات تعريف ارتباط. نزيل من الصورة كل بياناتها المخفية "
    "(الموقع، الوقت، نوع الهاتف). لا يظهر وجهك أو اسمك إلا إذا كتبته أو صوّرته أنت.",
    "We keep no address, no device name, no cookie. We remove all hidden data from the photo "
    "(location, time, phone model). Your name or face appears only if you write or show it.",
)


CREDIT = both("الخريطة: © مساهمو OpenStreetMap", "Map: © OpenStreetMap contributors")
CLEAR = both("مسح المكان", "Clear the place")

WORKING = (
    '<p class="small working" hidden>'
    + both("جارٍ التحقق… قد يستغرق ذلك بضع ثوانٍ", "Checking… this can take a few seconds")
    + '</p><p class="note error failed" hidden>'
    + both("تعذّر الإرسال، حاول مرة أخرى", "Could not send; try again")
    + "</p>"
)


def form_page() -> HTMLResponse:
    body = f"""
<h1>{both("أبلغ عن مكان رفات أو ذخائر غير منفجرة", "Report remains or unexploded ordnance")}</h1>
<p class="note">{NOT_KEPT}</p>
<p class="note error" id="needs-js">{
        both(
            "تحتاج هذه الصفحة إلى تفعيل جافاسكربت لإجراء فحص مكافحة الإساءة.",
            "This page needs JavaScript for its anti-abuse check.",
        )
    }</p>
<form method="post" action="/public/tips" enctype="multipart/form-data" data-pow>
<label>{both("اضغط على الخريطة لتحديد المكان", "Click the map to mark the place")}</label>
{map_svg()}
<p class="small credit">{CREDIT}</p>
<p class="small">{both("المكان المحدد:", "Marked place:")} <span id="where" dir="ltr"></span>
<button type="button" id="clear" class="secondary">{CLEAR}</button></p>
<input type="hidden" name="lon"><input type="hidden" name="lat">
<label for="place">{both("أو صف المكان بالكلمات", "Or describe the place in words")}</label>
<input type="text" id="place" name="place" maxlength="{MAX_PLACE}">
<label for="text">{both("ماذا رأيت؟", "What did you see?")}</label>
<textarea id="text" name="text" required maxlength="{MAX_TEXT}"></textarea>
<label for="photo">{both("صورة (اختياري)", "Photo (optional)")}</label>
<input type="file" id="photo" name="photo" class="file" accept="image/jpeg,image/png,image/webp">
<label for="photo" class="pick">{both("اختر صورة", "Choose a photo")}</label>
<p class="small"><span id="photo-none">{both("لم تُختر صورة", "No photo chosen")}</span>
<span id="photo-chosen" dir="auto" hidden></span></p>
<p class="small">{
        both(
            "انتبه: الصورة قد تُظهر أشياء تدل عليك (انعكاسك، يدك، منزلك).",
            "Careful: a photo can show things that point to you (your reflection, hand, home).",
        )
    }</p>
<input type="hidden" name="challenge"><input type="hidden" name="counter">
<button type="submit">{both("أرسل البلاغ", "Send the tip")}</button>
{WORKING}
</form>
<h2>{both("هل لديك رمز استلام؟", "Do you have a claim code?")}</h2>
<form method="post" action="/public/tips/status" enctype="multipart/form-data" data-pow>
<label for="code">{both("رمز الاستلام", "Claim code")}</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="off" dir="ltr">
<input type="hidden" name="challenge"><input type="hidden" name="counter">
<button type="submit">{both("اعرض حالة البلاغ", "Show the tip's status")}</button>
{WORKING}
</form>
"""
    return _page("بلاغ / Tip", body)


def _back_link() -> str:
    back = both("عودة", "Back")
    return f'<p><a href="/public/tips">{back}</a></p>'


def receipt_page(code: str, text: str, place: str) -> HTMLResponse:
    body = f"""
<h1>{both("وصل بلاغك. شكرًا لك.", "Your tip was received. Thank you.")}</h1>
<p>{
        both(
            "هذا رمز الاستلام. اكتبه واحفظه في مكان آمن: لن يظهر مرة أخرى، ولا نحفظه.",
            "This is your claim code. Write it down and keep it safe: it is shown only once, "
            "and we do not keep it.",
        )
    }</p>
<p class="code">{escape(claimcode.grouped(code))}</p>
<p class="note">{
        both(
            "بهذا الرمز تتابع حالة البلاغ وتستلم المكافأة إن وُجدت. من يحمل الرمز يستطيع استلامها. "
            "إن فقدته لا يمكننا استعادته.",
            "With this code you follow the tip and collect any reward. Whoever holds the code can "
            "collect it. If you lose it, we cannot recover it.",
        )
    }</p>
<h2>{both("ما أرسلته", "What you sent")}</h2>
<p class="said">{escape(text)}</p>
{f'<p class="said">{escape(place)}</p>' if place else ""}
{_back_link()}
"""
    return _page("رمز الاستلام / Claim code", body, 201)


def status_page(found: TipStatusPublic) -> HTMLResponse:
    arabic, english = STATUS_TEXT[found.status]
    reward = ""
    if found.reward is not None:
        amount = f"{found.reward.amount} {found.reward.currency}"
        if found.reward.state == "paid":
            reward = both(f"دُفعت المكافأة: {amount}", f"The reward was paid: {amount}")
        else:
            reward = both(
                f"مكافأة جاهزة للاستلام: {amount}. أحضر رمز الاستلام.",
                f"A reward is ready to collect: {amount}. Bring your claim code.",
            )
        reward = f'<p class="note">{reward}</p>'
    body = f"<h1>{both(arabic, english)}</h1>{reward}{_back_link()}"
    return _page("حالة البلاغ / Tip status", body)


def error_page(status_code: int, detail: str) -> HTMLResponse:
    body = f"""
<h1>{both("لم يُقبل الطلب", "The request was not accepted")}</h1>
<p class="note error" dir="auto">{escape(detail)}</p>
{_back_link()}
"""
    return _page("خطأ / Error", body, status_code)
