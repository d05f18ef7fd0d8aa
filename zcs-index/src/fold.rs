//! Character folding applied to text before it is cut into tokens, for the index and for
//! queries alike, after what Zimbra's analyzer does (its `NormalizeTokenFilter`, a
//! character filter in front of the tokenizer): every character maps to exactly one
//! character, so `advocacion` and `advocación` are the same word, `ＡＢＣ` is `abc` and
//! katakana reads as hiragana (`アテナイ` finds `あてない`).
//!
//! The rules, character by character:
//! - ASCII and everything not listed below is lower-cased (when that gives one
//!   character; `İ` folds like other accented letters);
//! - Latin letters with diacritics (Latin-1, Extended-A/B, IPA, Extended Additional,
//!   Extended-C/D, small capitals, circled and subscript letters) become the base
//!   letter, lower case: by canonical or compatibility decomposition when it starts
//!   with an ASCII letter, else by a table of the letters with strokes, hooks and bars
//!   (`ø` → `o`, `ł` → `l`, `đ`/`ð` → `d`, `ı` → `i`, `ə` → `a`, ...);
//! - fullwidth digits and letters become ASCII;
//! - katakana (U+30A1-U+30F6) becomes the hiragana of the same sound.
//!
//! Ligatures and letters that would need two characters (`ß`, `æ`, `œ`, `þ`) stay as
//! they are (lower-cased), as in Zimbra. Greek, Cyrillic and other scripts are only
//! lower-cased.
//!
//! LIMITATION: halfwidth katakana (U+FF66-U+FF9D) is not folded to hiragana, nor joined
//! with a following halfwidth voiced sound mark, as Zimbra's filter does.

use unicode_normalization::char::{decompose_canonical, decompose_compatible};

/// The folded form of `c` (see the module doc). Never panics; costs a table lookup, or a
/// decomposition for a non-ASCII Latin letter.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    let c = match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    };
    let u = c as u32;
    match u {
        // Fullwidth digits and small letters (capitals were lower-cased above).
        0xFF10..=0xFF19 | 0xFF41..=0xFF5A => char::from_u32(u - 0xFEE0).unwrap_or(c),
        // Katakana to hiragana: the two blocks list the same sounds in the same order.
        0x30A1..=0x30F6 => char::from_u32(u - 0x60).unwrap_or(c),
        _ if is_latin_letter_block(u) => latin_base(c).unwrap_or(c),
        _ => c,
    }
}

/// `text` with every character folded by [`fold_char`]; borrows nothing, allocates once.
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// Whether `text` is unchanged by [`fold`] (cheap check before allocating).
pub fn is_folded(text: &str) -> bool {
    text.chars().all(|c| fold_char(c) == c)
}

/// The blocks whose letters fold to a base Latin letter.
fn is_latin_letter_block(u: u32) -> bool {
    matches!(u,
        0x00C0..=0x024F     // Latin-1 letters, Extended-A, Extended-B
        | 0x0250..=0x02AF   // IPA extensions
        | 0x1D00..=0x1DBF   // phonetic extensions (small capitals)
        | 0x1E00..=0x1EFF   // Latin Extended Additional
        | 0x2090..=0x209C   // subscript letters
        | 0x24B6..=0x24E9   // circled letters
        | 0x2C60..=0x2C7F   // Latin Extended-C
        | 0xA720..=0xA7FF) // Latin Extended-D
}

/// The lower-case ASCII letter `c` is written on, when there is one.
fn latin_base(c: char) -> Option<char> {
    let mut first = None;
    decompose_canonical(c, |d| {
        first.get_or_insert(d);
    });
    if let Some(f) = first.filter(|f| f.is_ascii_alphabetic()) {
        return Some(f.to_ascii_lowercase());
    }
    let mut first = None;
    decompose_compatible(c, |d| {
        first.get_or_insert(d);
    });
    if let Some(f) = first.filter(|f| f.is_ascii_alphabetic()) {
        return Some(f.to_ascii_lowercase());
    }
    // Letters with no decomposition: strokes, bars, hooks, turned and small-capital
    // forms. Each row: the base letter, then the letters written on it.
    const TABLE: [(char, &str); 22] = [
        ('a', "ɐɑɒəɚᴀᴂᴇⱥⱯⱭɅʌƏᶏᶕ"),
        ('b', "ƀƁƂƃɃɓʙᴃᵬ"),
        ('c', "ƇƈȻȼɕᴄ"),
        ('d', "ĐđÐðƉƊƋƌɖɗᴅᴆᵭ"),
        ('e', "Ǝǝɘɛɜɝɞᴇⱸ"),
        ('f', "Ƒƒᵮ"),
        ('g', "ƓǤǥɠɡɢʛᶃ"),
        ('h', "ĦħɦɧʜⱧⱨⱵⱶ"),
        ('i', "ıƗɨɩɪᵻᶖ"),
        ('j', "ȷɈɉɟʄᴊ"),
        ('k', "ƘƙⱩⱪᴋ"),
        ('l', "ŁłƚȴȽɫɬɭʟᴌⱠⱡⱢ"),
        ('m', "ɱᴍᵯ"),
        ('n', "ƝƞȠȵɲɳɴᴎᵰ"),
        ('o', "ØøƟƠơǾǿɔɵᴏᴐᴓ"),
        ('p', "ƤƥᴘᵱⱣ"),
        ('r', "ɌɍɼɽɾʀʁᴙᴚᵲᵳⱤ"),
        ('s', "ȿʂᵴ"),
        ('t', "ŦŧƫƬƭƮȶȾʈᴛᵵ"),
        ('u', "ɄʉᴜᵾƱʊ"),
        ('y', "ƳƴɎɏʏ"),
        ('z', "ƵƶȤȥɀʐʑᴢᵶⱫⱬ"),
    ];
    TABLE
        .iter()
        .find(|(_, letters)| letters.contains(c))
        .map(|(base, _)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_fold_to_the_base_letter() {
        assert_eq!(fold("Advocación"), "advocacion");
        assert_eq!(fold("ÀÉÎÕÜÇÑ àéîõüçñ ÿŸ Å"), "aeioucn aeioucn yy a");
        assert_eq!(
            fold("Łódź Ørsted Đorđe İstanbul ıi"),
            "lodz orsted dorde istanbul ii"
        );
        assert_eq!(fold("ẞtraße æon œuvre þorn"), "ßtraße æon œuvre þorn");
    }

    #[test]
    fn fullwidth_and_katakana_fold() {
        assert_eq!(fold("ＡＢＣ１２３ｘ"), "abc123x");
        assert_eq!(fold("アテナイ"), "あてない");
        assert_eq!(fold("ガヴ"), "がゔ");
        // Halfwidth katakana and other scripts are only lower-cased.
        assert_eq!(fold("ｱ"), "ｱ");
        assert_eq!(fold("ΆΘΉΝΑ Москва"), "άθήνα москва");
    }

    #[test]
    fn one_character_in_one_character_out() {
        for u in 0..0x3_0000u32 {
            let Some(c) = char::from_u32(u) else { continue };
            let f = fold_char(c);
            // Folding twice changes nothing more.
            assert_eq!(fold_char(f), f, "{c:?} -> {f:?}");
        }
    }
}
