"""What names and titles may hold (visible text, no control or direction characters), and
the key under which two usernames are the same name."""
import unicodedata

# Characters that reorder the text around them (bidi embeddings, overrides, isolates, marks):
# in a name they can turn the date beside it, or the name itself, around.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
# Letters and marks that draw nothing, though Unicode does not class them as format or space.
BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
                          + "".join(chr(c) for c in range(0xFE00, 0xFE10)))
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"}


def _invisible(char):
    return char in BLANK_LOOKING or unicodedata.category(char) in INVISIBLE_CATEGORIES


def problem(value):
    """Why *value* cannot be a name or title, or None: control characters, direction
    controls, or nothing visible."""
    if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in value):
        return "control"
    if all(_invisible(c) for c in value):
        return "invisible"
    return None


def username_key(name):
    """*name* as people read it: NFKC, case-folded, without the characters that draw nothing
    (Unicode's NFKC_Casefold drops them too), so "Bob", "ＢＯＢ" and "b\u200bob" are one name."""
    text = unicodedata.normalize("NFKC", name)
    text = unicodedata.normalize("NFKC", text.casefold())
    return "".join(c for c in text if not (unicodedata.category(c) == "Cf" or c in BLANK_LOOKING))
