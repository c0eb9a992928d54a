from datetime import UTC, datetime

from floodcast.social import text as T


def test_snowflake_time_known_ids():
    # the X API v2 docs' sample tweet: created_at 2019-12-31T19:26:16.000Z
    t = T.snowflake_time("1212092628029698048")
    assert t.replace(microsecond=0) == datetime(2019, 12, 31, 19, 26, 16, tzinfo=UTC)
    # a CrisisLex T6 Alberta id (quoted as in the file) lies inside the June 2013 floods
    t = T.snowflake_time("'348351442404376578'")
    assert t == datetime(2013, 6, 22, 8, 7, 10, 583000, tzinfo=UTC)
    assert T.snowflake_time(20) is None  # pre-snowflake id: no time
    assert T.snowflake_time("not-an-id") is None


def test_normalise_urls_mentions_entities_rt():
    s = T.normalise("RT @abc: Flood &amp; rain at http://t.co/xyz  @CBC_News now… ")
    assert s == "Flood & rain at URL @USER now"
    assert T.normalise("email me a@b.com") == "email me a@b.com"  # not a mention


def test_reply_and_retweet_detection():
    assert T.is_reply_text("  @bob are you ok?")
    assert not T.is_reply_text("hello @bob")
    assert T.is_retweet_text("RT @bob: water everywhere")
    assert not T.is_retweet_text("ART @bob")


def test_emoji_labels_and_stripping():
    assert T.emoji_label("so sad 😢") == "negative"
    assert T.emoji_label("we are safe ❤️") == "positive"
    assert T.emoji_label("yay :)") == "positive"
    assert T.emoji_label("oh no :(") == "negative"
    assert T.emoji_label("mixed :) 😢") is None
    assert T.emoji_label("no signal here") is None
    assert T.emoji_label("see http://t.co/x") is None  # ':/' inside a URL is no emoticon
    assert T.strip_emoji("so sad 😢 :( ok ❤️") == "so sad ok"


def test_detect_language():
    assert T.detect_language("The river is flooding my street") == "en"
    assert T.detect_language("Alluvione in Sardegna, morti e dispersi nella notte") == "it"
    assert T.detect_language("#yycflood") == "und"  # hashtags only: undeterminable
    assert T.detect_language("") == "und"


def test_expand_hashtags():
    assert (
        T.expand_hashtags("Keep calm #Calgary on #yycflood #abflood")
        == "Keep calm Calgary on yyc flood ab flood"
    )
    assert T.expand_hashtags("#HighRiver #bigwet #qldfloods") == "High River big wet qld floods"
    assert T.expand_hashtags("no tags here") == "no tags here"


def test_image_extension_point():
    import numpy as np
    import pytest

    from floodcast.social import images

    with pytest.raises(ValueError, match="not available offline"):
        images.make_image_model("clip")

    class Const:
        def score(self, paths):
            return np.full(len(paths), 0.5)

    images.register_image_model("const", Const)
    try:
        assert images.make_image_model("const").score(["a.jpg"]).tolist() == [0.5]
    finally:
        images.IMAGE_MODELS.pop("const")
