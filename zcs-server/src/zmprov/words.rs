//! Splitting an interactive or batch `zmprov` line into words, with shell-like single
//! and double quotes and backslash escapes.

/// Splits `line` into words. An unterminated quote runs to the end of the line.
pub fn split_line(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            split_line(r#"ca a@b.c 'p w' displayName "J \"Q\" Smith" x\ y ''"#),
            vec![
                "ca",
                "a@b.c",
                "p w",
                "displayName",
                "J \"Q\" Smith",
                "x y",
                ""
            ]
        );
        assert!(split_line("   ").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = split_line(&s);
        }

        #[test]
        fn plain_words_survive(words in proptest::collection::vec("[a-zA-Z0-9@.+-]{1,12}", 0..8)) {
            prop_assert_eq_words(&words);
        }
    }

    fn prop_assert_eq_words(words: &[String]) {
        assert_eq!(split_line(&words.join(" ")), words);
    }
}
