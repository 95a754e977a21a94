"""Text that takes as many cells in the terminal as Rich counts for it.

Textual lays every line out with Rich's cell widths (`rich.cells.cell_len`);
the terminal then draws it with its own. Where the two disagree, the rest of
the line moves: the log's right border and the picker's columns go out of
line. Measured in tmux 3.3a (Debian 12, glibc 2.36, whose `wcwidth` knows
Unicode 14; tmux built without utf8proc) against Rich 15.0.0: each sequence
printed in an 80-column pane followed by a marker, its width read from
`#{cursor_x}` (and again with `ESC [6n`, as tests/shell/test_wide_chars.py does).

    kind                     code points                       tmux  Rich  shown as     both
    VS16 emoji               1F336 FE0F (hot pepper)              1     2  1F336           1
                             2764 FE0F (red heart)                1     2  2764            1
                             263A FE0F (smiling face)             1     2  263A            1
    VS15 (text style)        263A FE0E                            1     1  263A            1
                             1F600 FE0E                           2     2  1F600           2
    skin-tone modifier       1F64F 1F3FE (folded hands)           4     2  1F64F           2
                             1F3FE alone                          2     0  nothing         0
    ZWJ sequence             1F469 200D 1F4BB (technologist)      2     2  1F469 1F4BB     4
                             1F469 1F3FE 200D 1F4BB               4     2  1F469 1F4BB     4
                             1F3F3 FE0F 200D 1F308 (rainbow)      1     2  1F3F3 1F308     3
                             a 200D b                             2     1  ab              2
    flag                     1F1EC 1F1ED (Ghana)                  2     2  [GH]            4
                             1F1EC alone                          1     1  [G]             3
    tag sequence             1F3F4 E0067 ... E007F (England)      2     2  1F3F4           2
    keycap                   0031 FE0F 20E3                       1     2  0031 20E3       1
    emoji after Unicode 14   1FAE8 (shaking face), 1FA77          0     2  <U+1FAE8>       9
    trigram, tetragram       2630, 1D306                          1     2  <U+2630>        8
    circled number on black  3248                                 2     1  <U+3248>        8
    Hangul filler            3164; FFA0                        2; 1     0  <U+3164>        8
    CJK, Hangul, fullwidth   4E16 754C; D55C AD6D; FF21     4; 4; 2  same  as sent
    combining accents        0065 0301; 0061 0301 0302 0303       1  same  as sent
    Hebrew                   05E9 05DC 05D5 05DD, with niqqud     4  same  as sent
    Arabic                   0645 0631 062D 0628 0627; 0644 0627  5; 2  same  as sent
    wide emoji, ZWNJ, ZWSP   1F600, 1FAE0, 1F4CE; 200C; 200B        same   as sent

Only zero-width characters are dropped (variation selectors 15 and 16, the
zero-width joiner, skin-tone modifiers, tag characters), so no letter of a
message is lost: each emoji of a sequence is drawn on its own, at the width
every layer gives it. Splitting is also the one form all layers agree on:
tmux 3.3a and Rich count a ZWJ sequence as one 2-cell emoji, but a terminal
under tmux that cannot join it draws every part, and pyte (the tests'
terminal) stops drawing at a ZWJ. A flag becomes
its two letters: tmux keeps a regional indicator as a 1-cell character of
its own (a partial redraw can send half a flag), pyte and many terminals
count one as 2 cells. A character that cannot be dropped and has no agreed
width is shown by its code, as a control character is.

Not fixed, since that would change the words: the spacing vowel signs of
Indic scripts (category Mc, such as U+093F) take a cell in tmux and none in
Rich ("Hindi" in Devanagari, 0939 093F 0902 0926 0940: tmux 4, Rich 2), and
letters of scripts newer than the terminal's Unicode tables take no cell in
tmux and one in Rich.
"""

from __future__ import annotations

Ranges = tuple[tuple[int, int], ...]

#: Zero-width characters that change a sequence's width in Rich or in the
#: terminal but not in both: VS15 and VS16, the zero-width joiner, the five
#: skin-tone modifiers and the tag characters (the letters of a subdivision flag).
_DROPPED: Ranges = ((0xFE0E, 0xFE0F), (0x200D, 0x200D), (0x1F3FB, 0x1F3FF), (0xE0020, 0xE007F))
#: Characters whose width Rich and tmux do not agree on, shown by their code:
#: emoji added after Unicode 14 and the free slots among them (tmux draws
#: them in 0 cells on a Unicode 14 system, Rich counts 2), the yijing
#: trigrams, monograms and tetragrams and the counting rods (tmux 1, Rich 2),
#: circled numbers on a black square (tmux 2, Rich 1), the Hangul fillers
#: (tmux 2 and 1, Rich 0).
_UNMEASURABLE: Ranges = (
    (0x2630, 0x2637),
    (0x268A, 0x268F),
    (0x3164, 0x3164),
    (0x3248, 0x324F),
    (0xFFA0, 0xFFA0),
    (0x1D300, 0x1D376),
    (0x1F6D8, 0x1F6DC),
    (0x1FA75, 0x1FA77),
    (0x1FA87, 0x1FA8F),
    (0x1FAAD, 0x1FAAF),
    (0x1FABB, 0x1FABF),
    (0x1FAC6, 0x1FACF),
    (0x1FADA, 0x1FADF),
    (0x1FAE8, 0x1FAEF),
    (0x1FAF7, 0x1FAFF),
)
#: The regional indicators A to Z: two make a flag.
REGIONAL = (0x1F1E6, 0x1F1FF)

#: Every character `stand_in` or `flags` changes.
RANGES: Ranges = (*_DROPPED, *_UNMEASURABLE, REGIONAL)
#: Regular-expression source of the regional indicators that may follow a
#: matched character: a flag's run is taken whole, so its pairs stay pairs.
REGIONAL_RUN = rf"[\U{REGIONAL[0]:08x}-\U{REGIONAL[1]:08x}]*"

_DROPPED_CHARS = frozenset(chr(c) for first, last in _DROPPED for c in range(first, last + 1))


def one_of(ranges: Ranges) -> str:
    """Regular-expression source of a class matching the characters in `ranges`.

    Written as "none of the other characters": `re` tests a negated class
    against one bitmap for a character of the Basic Multilingual Plane, where
    a class with ranges beyond it tests every range for every character
    (a 200-character message: 0.8 µs against 4.7 µs).
    """
    others = []
    at = 0
    for first, last in sorted(ranges):
        if first > at:
            others.append((at, first - 1))
        at = max(at, last + 1)
    if at <= 0x10FFFF:
        others.append((at, 0x10FFFF))
    return "[^" + "".join(rf"\U{first:08x}-\U{last:08x}" for first, last in others) + "]"


def stand_in(char: str) -> str:
    """What a character of RANGES but a regional indicator is shown as.

    Nothing if it has no width (a variation selector, a joiner, a skin tone,
    a tag), else its code (`<U+1FAE8>`), as `render.visible` spells controls.
    """
    return "" if char in _DROPPED_CHARS else f"<U+{ord(char):04X}>"


def is_regional(char: str) -> bool:
    """Whether `char` is a regional indicator (half of a flag)."""
    return REGIONAL[0] <= ord(char) <= REGIONAL[1]


def flags(run: str) -> str:
    """A run of regional indicators as letters: each pair (a flag) `[GH]`, one left `[G]`."""
    letters = "".join(chr(ord(char) - REGIONAL[0] + ord("A")) for char in run)
    return "".join(f"[{letters[at : at + 2]}]" for at in range(0, len(letters), 2))
