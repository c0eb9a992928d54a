"""Text helpers for posts: normalisation, emoji/emoticons, snowflake time, language.

Normalisation replaces URLs by ``URL`` and user mentions by ``@USER``, unescapes the
HTML entities the Twitter API leaves in text (``&amp;``), strips the ``RT @x:`` prefix
and collapses whitespace. Emoji and emoticons are *kept*: they carry the distant
sentiment labels (see :mod:`floodcast.social.sentiment`), and :func:`strip_emoji`
removes them before a model sees the text.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

# Twitter snowflake ids (from 2010-11-04) encode the creation time in the high bits.
TWITTER_EPOCH_MS = 1288834974657
_FIRST_SNOWFLAKE = 27_000_000_000_000_000  # roughly the first ids issued in Nov 2010

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@\w{1,15}")
RT_PREFIX_RE = re.compile(r"^\s*RT\s+@\w{1,15}\s*:?\s*", re.IGNORECASE)
WS_RE = re.compile(r"\s+")
HASHTAG_RE = re.compile(r"#\w+")
MIN_LETTERS_FOR_DETECTION = 15  # langdetect is a coin toss on shorter text
WORD_RE = re.compile(r"[a-z']+")

# Emoticons as used for distant supervision (Go et al. 2009 style), plus emoji below.
POS_EMOTICON_RE = re.compile(r"(?:(?<=\s)|^)(?:[:;=8][-']?[)\]DpP3]|\^_*\^|<3)(?=\s|$|[.,!?])")
NEG_EMOTICON_RE = re.compile(
    r"(?:(?<=\s)|^)(?:[:;=8]['-]?[(\[/\\|]|D[-']?:|</3|:'\()(?=\s|$|[.,!?])"
)
# Emoji sets for distant supervision: clear positive / negative faces, hearts, hands.
POSITIVE_EMOJI = frozenset(
    "😀😃😄😁😆😊☺😍🥰😘😗😙😚😋😛😜😝🤗🤩😇🙂😉😎👍👏🙌💪🎉❤💕💖💗💙💚💛💜🧡🤍😂🤣✨🙏"
)
NEGATIVE_EMOJI = frozenset("😞😔😟😕🙁☹😣😖😫😩😢😭😤😠😡🤬😨😰😱😥😓💔👎😿😪🤕🤒😷😦😧")

# Cheap English test: common function words (avoids langdetect on most English posts).
_EN_STOP = frozenset(
    "the a an and or but is are was were be been to of in on at for with from by this that "
    "it its i you he she we they my your our their me us them not no so if as have has had "
    "do does did will would can could should just all what when where who how there here "
    "im dont cant about after before over under into out up down off very more some any "
    "than then now still".split()
)


def snowflake_time(tweet_id: int | str) -> datetime | None:
    """Creation time (UTC) encoded in a Twitter snowflake id, or None for older ids.

    ``time_ms = (id >> 22) + 1288834974657``; ids issued before Nov 2010 are sequential
    and carry no time.
    """
    try:
        i = int(str(tweet_id).strip().strip("'\""))
    except (TypeError, ValueError):
        return None
    if i < _FIRST_SNOWFLAKE:
        return None
    return datetime.fromtimestamp(((i >> 22) + TWITTER_EPOCH_MS) / 1000.0, tz=UTC)


def is_retweet_text(text: str) -> bool:
    """Old-style manual/API retweet: text starts with ``RT @user``."""
    return bool(RT_PREFIX_RE.match(text or ""))


def is_reply_text(text: str) -> bool:
    """Reply heuristic for sources without a reply field: text starts with ``@user``."""
    return (text or "").lstrip().startswith("@")


def normalise(text: str) -> str:
    """URLs -> ``URL``, mentions -> ``@USER``, HTML entities unescaped, RT prefix removed."""
    t = html.unescape(text or "")
    t = RT_PREFIX_RE.sub("", t)
    t = URL_RE.sub("URL", t)
    t = MENTION_RE.sub("@USER", t)
    # drop the truncation ellipsis the API appends to long retweets
    t = t.replace("\u2026", " ")
    return WS_RE.sub(" ", t).strip()


def find_emoji(text: str) -> list[str]:
    """Emoji in ``text`` (single code points; variation selectors ignored)."""
    try:
        import emoji

        return [e["emoji"].replace("\ufe0f", "") for e in emoji.emoji_list(text or "")]
    except ImportError:  # pragma: no cover
        return [c for c in text or "" if ord(c) >= 0x1F300]


def strip_emoji(text: str) -> str:
    """Remove emoji and emoticons (the distant labels) so a model cannot read its label."""
    try:
        import emoji

        t = emoji.replace_emoji(text or "", replace=" ")
    except ImportError:  # pragma: no cover
        t = "".join(c if ord(c) < 0x1F300 else " " for c in text or "")
    t = POS_EMOTICON_RE.sub(" ", t)
    t = NEG_EMOTICON_RE.sub(" ", t)
    return WS_RE.sub(" ", t).strip()


def emoji_label(text: str) -> str | None:
    """Distant sentiment label: 'positive' / 'negative' from emoji or emoticons.

    Posts with signals of both polarities, or none, get None (not used for training).
    """
    found = find_emoji(text)
    pos = any(e[:1] in POSITIVE_EMOJI or e in POSITIVE_EMOJI for e in found)
    neg = any(e[:1] in NEGATIVE_EMOJI or e in NEGATIVE_EMOJI for e in found)
    t = text or ""
    pos = pos or bool(POS_EMOTICON_RE.search(t))
    neg = neg or bool(NEG_EMOTICON_RE.search(t))
    if pos == neg:
        return None
    return "positive" if pos else "negative"


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``, ``'und'`` when undeterminable.

    Posts with at least two common English function words are taken as English without
    running langdetect (slow, and unreliable on short posts); otherwise langdetect with a
    fixed seed decides (on the text without URLs, mentions and hashtags), and English is
    kept when it has probability >= 0.2. Fewer than 15 letters left -> ``'und'``.
    """
    t = URL_RE.sub(" ", text or "")
    t = MENTION_RE.sub(" ", t)
    t = HASHTAG_RE.sub(" ", t)  # hashtags are names (#yycflood), not language evidence
    words = WORD_RE.findall(t.lower())
    if sum(w in _EN_STOP for w in words) >= 2:
        return "en"
    letters = sum(c.isalpha() for c in t)
    if letters < MIN_LETTERS_FOR_DETECTION:
        return "und"
    try:
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:  # pragma: no cover - langdetect is part of the social extra
        return "und"
    DetectorFactory.seed = 0
    try:
        langs = detect_langs(t)
    except LangDetectException:
        return "und"
    if not langs:
        return "und"
    for cand in langs:
        if cand.lang == "en" and cand.prob >= 0.2:
            return "en"
    return langs[0].lang


# Crisis words that hashtags glue to place codes (#yycflood, #qldfloods, #bigwet).
_HASHTAG_WORDS = re.compile(
    r"(flood(?:s|ing|ed|water|waters)?|rain(?:s|fall|ing)?|storm(?:s)?|wet|water|relief|"
    r"help|evac(?:uation|uate)?|cyclone|weather|emergency|disaster|recovery|strong|safe|"
    r"prayfor|rescue)",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def expand_hashtags(text: str) -> str:
    """Split hashtags into words for the models: ``#yycflood`` -> ``yyc flood``,
    ``#HighRiver`` -> ``High River``, ``#bigwet`` -> ``big wet``.

    The event-specific tags differ between floods but share the crisis word, so a model
    trained on one flood can recognise the other's tags.
    """

    def split(m: re.Match) -> str:
        tag = _CAMEL.sub(" ", m.group(0)[1:])
        tag = _HASHTAG_WORDS.sub(lambda w: f" {w.group(0)} ", tag)
        return " ".join(tag.replace("_", " ").split())

    return WS_RE.sub(" ", HASHTAG_RE.sub(split, text or "")).strip()
