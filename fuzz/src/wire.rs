//! A strict reader of what the IMAP server writes, for the fuzz targets' invariants.
//!
//! Every response must end in CRLF. `* n FETCH (...)` responses are parsed in full
//! against RFC 3501 §9: balanced lists, `quoted` strings of 7-bit TEXT-CHARs with only
//! `\"` and `\\` escapes, literals of the announced length, `name value` pairs, and the
//! shapes of ENVELOPE (§7.4.2: ten fields, address lists of four-field addresses) and
//! BODY/BODYSTRUCTURE (§7.4.2: multipart and single-part field layouts). Other responses
//! are only framed (their literals skipped). A violation is returned as a message.

/// One value of a FETCH response.
#[derive(Debug)]
pub enum Value<'a> {
    /// An atom or number (`NIL`, `UID`, `BODY[1.MIME]<0>`, `\Seen`, `42`).
    Atom(&'a [u8]),
    /// A quoted string (escapes removed) or a literal.
    Str(Vec<u8>),
    /// A parenthesised list.
    List(Vec<Value<'a>>),
}

impl Value<'_> {
    fn is_nil(&self) -> bool {
        matches!(self, Value::Atom(a) if a.eq_ignore_ascii_case(b"NIL"))
    }

    fn is_string(&self) -> bool {
        matches!(self, Value::Str(_))
    }

    fn is_nstring(&self) -> bool {
        self.is_nil() || self.is_string()
    }

    fn is_number(&self) -> bool {
        matches!(self, Value::Atom(a) if !a.is_empty() && a.iter().all(u8::is_ascii_digit))
    }

    fn text(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

type Res<T> = Result<T, String>;

impl<'a> Reader<'a> {
    fn err<T>(&self, what: &str) -> Res<T> {
        let from = self.pos.saturating_sub(40);
        let to = (self.pos + 40).min(self.b.len());
        Err(format!(
            "{what} at byte {} near {:?}",
            self.pos,
            String::from_utf8_lossy(&self.b[from..to])
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, lit: &[u8]) -> Res<()> {
        if self.b[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            self.err(&format!("expected {:?}", String::from_utf8_lossy(lit)))
        }
    }

    fn number(&mut self) -> Res<u64> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.b[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or_else(|| self.err("expected a number"), Ok)
    }

    fn value(&mut self, depth: usize) -> Res<Value<'a>> {
        if depth > 200 {
            return self.err("nesting too deep");
        }
        match self.peek() {
            Some(b'(') => self.list(depth + 1).map(Value::List),
            Some(b'"') => self.quoted().map(Value::Str),
            Some(b'{') => self.literal().map(|l| Value::Str(l.to_vec())),
            // RFC 3516 §4.2 literal8, in BINARY[...] replies.
            Some(b'~') if self.b.get(self.pos + 1) == Some(&b'{') => {
                self.pos += 1;
                self.literal().map(|l| Value::Str(l.to_vec()))
            }
            Some(_) => self.atom().map(Value::Atom),
            None => self.err("response ends inside a value"),
        }
    }

    fn list(&mut self, depth: usize) -> Res<Vec<Value<'a>>> {
        self.expect(b"(")?;
        let mut items = Vec::new();
        if self.peek() == Some(b')') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            let value = self.value(depth)?;
            let was_list = matches!(value, Value::List(_));
            items.push(value);
            match self.peek() {
                Some(b' ') => self.pos += 1,
                // RFC 3501 §9: `1*address` and `1*body` put lists side by side.
                Some(b'(') if was_list => {}
                Some(b')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return self.err("expected SP or ')' in a list"),
            }
        }
    }

    /// RFC 3501 §9 `quoted`: 7-bit TEXT-CHARs, `"` and `\` escaped.
    fn quoted(&mut self) -> Res<Vec<u8>> {
        self.expect(b"\"")?;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => match self.b.get(self.pos + 1) {
                    Some(&c @ (b'"' | b'\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => return self.err("bad escape in a quoted string"),
                },
                Some(c) if c == 0 || c == b'\r' || c == b'\n' || c >= 0x80 => {
                    return self.err(&format!("byte {c:#04x} in a quoted string"));
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
                None => return self.err("unterminated quoted string"),
            }
        }
    }

    /// RFC 3501 §4.3 literal: `{n}` CRLF and n bytes.
    fn literal(&mut self) -> Res<&'a [u8]> {
        self.expect(b"{")?;
        let n = self.number()?;
        self.expect(b"}\r\n")?;
        let n = usize::try_from(n).map_or_else(|_| self.err("literal too long"), Ok)?;
        match self.b.get(self.pos..self.pos.saturating_add(n)) {
            Some(data) if self.pos.checked_add(n).is_some() => {
                self.pos += n;
                Ok(data)
            }
            _ => self.err("literal longer than the output"),
        }
    }

    /// An atom; a `[...]` section (which may hold spaces, parentheses, quoted strings and
    /// literals) and a `<n>` partial origin are part of it, as in
    /// `BODY[HEADER.FIELDS (FROM "X]")]<0>`.
    fn atom(&mut self) -> Res<&'a [u8]> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                // Only a FETCH item name opens a section; elsewhere `[` is an ATOM-CHAR
                // (keywords such as `a[b` are legal atoms, RFC 3501 §9).
                b'[' if is_section_item(&self.b[start..self.pos]) => {
                    self.pos += 1;
                    // Header names in a section are astrings (RFC 3501 §9): quoted
                    // strings and literals may hold `]`.
                    loop {
                        match self.peek() {
                            Some(b']') => break,
                            Some(b'"') => drop(self.quoted()?),
                            Some(b'{') => drop(self.literal()?),
                            Some(b'\r' | b'\n') | None => {
                                return self.err("unterminated section");
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                    self.pos += 1;
                }
                b' ' | b'(' | b')' | b'"' | b'{' => break,
                0x21..=0x7e => self.pos += 1,
                _ => return self.err(&format!("byte {c:#04x} in an atom")),
            }
        }
        if self.pos == start {
            return self.err("empty atom");
        }
        Ok(&self.b[start..self.pos])
    }

    /// Skips a response that is not checked in detail: up to CRLF, jumping over any
    /// literal announced at a line end.
    fn skip_response(&mut self) -> Res<()> {
        loop {
            let Some(off) = self.b[self.pos..].windows(2).position(|w| w == b"\r\n") else {
                return self.err("response without CRLF");
            };
            let line = &self.b[self.pos..self.pos + off];
            self.pos += off + 2;
            let Some(open) = line
                .strip_suffix(b"}")
                .and_then(|l| l.iter().rposition(|&c| c == b'{'))
            else {
                return Ok(());
            };
            let digits = &line[open + 1..line.len() - 1];
            let n: usize = match std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok())
            {
                Some(n) if !digits.is_empty() => n,
                _ => return Ok(()),
            };
            if self.b.len() - self.pos < n {
                return self.err("literal longer than the output");
            }
            self.pos += n;
        }
    }
}

/// FETCH item names that are followed by a `[section]`.
fn is_section_item(name: &[u8]) -> bool {
    [
        &b"BODY"[..],
        b"BODY.PEEK",
        b"BINARY",
        b"BINARY.PEEK",
        b"BINARY.SIZE",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
}

fn check_address_list(v: &Value<'_>) -> Res<()> {
    match v {
        _ if v.is_nil() => Ok(()),
        Value::List(addrs) if !addrs.is_empty() => {
            for a in addrs {
                match a {
                    Value::List(f) if f.len() == 4 && f.iter().all(Value::is_nstring) => {}
                    _ => return Err(format!("bad address {a:?}")),
                }
            }
            Ok(())
        }
        _ => Err(format!("bad address list {v:?}")),
    }
}

/// RFC 3501 §7.4.2 ENVELOPE: date, subject, from, sender, reply-to, to, cc, bcc,
/// in-reply-to, message-id.
pub fn check_envelope(v: &Value<'_>) -> Res<()> {
    let Value::List(f) = v else {
        return Err(format!("ENVELOPE is not a list: {v:?}"));
    };
    if f.len() != 10 {
        return Err(format!("ENVELOPE has {} fields", f.len()));
    }
    for i in [0, 1, 8, 9] {
        if !f[i].is_nstring() {
            return Err(format!("ENVELOPE field {i} is not an nstring: {:?}", f[i]));
        }
    }
    f[2..8].iter().try_for_each(check_address_list)
}

fn check_params(v: &Value<'_>) -> Res<()> {
    match v {
        _ if v.is_nil() => Ok(()),
        Value::List(p) if !p.is_empty() && p.len() % 2 == 0 && p.iter().all(Value::is_string) => {
            Ok(())
        }
        _ => Err(format!("bad body parameter list {v:?}")),
    }
}

/// RFC 3501 §7.4.2 BODY / BODYSTRUCTURE, recursively.
pub fn check_body(v: &Value<'_>, depth: usize) -> Res<()> {
    let Value::List(f) = v else {
        return Err(format!("body is not a list: {v:?}"));
    };
    if depth > 100 {
        return Err("body nested too deep".to_string());
    }
    let parts = f.iter().take_while(|p| matches!(p, Value::List(_))).count();
    if parts > 0 {
        for p in &f[..parts] {
            check_body(p, depth + 1)?;
        }
        return match f.get(parts) {
            Some(s) if s.is_string() => Ok(()),
            other => Err(format!("multipart without a subtype string: {other:?}")),
        };
    }
    if f.len() < 7 {
        return Err(format!("single part with {} fields", f.len()));
    }
    if !(f[0].is_string() && f[1].is_string()) {
        return Err(format!(
            "part type/subtype not strings: {:?} {:?}",
            f[0], f[1]
        ));
    }
    check_params(&f[2])?;
    if !(f[3].is_nstring() && f[4].is_nstring() && f[5].is_string() && f[6].is_number()) {
        return Err(format!("bad body-fields {:?}", &f[3..7]));
    }
    let ty = f[0].text().unwrap_or_default().to_ascii_uppercase();
    let sub = f[1].text().unwrap_or_default().to_ascii_uppercase();
    if ty == b"TEXT" && !f.get(7).is_some_and(Value::is_number) {
        return Err(format!("TEXT part without a line count: {f:?}"));
    }
    if ty == b"MESSAGE" && sub == b"RFC822" {
        if f.len() < 10 {
            return Err(format!("MESSAGE/RFC822 part with {} fields", f.len()));
        }
        check_envelope(&f[7])?;
        check_body(&f[8], depth + 1)?;
        if !f[9].is_number() {
            return Err(format!("MESSAGE/RFC822 without a line count: {:?}", f[9]));
        }
    }
    Ok(())
}

/// One parsed FETCH response: the message number and its `name value` pairs.
pub struct Fetch<'a> {
    /// The message sequence number.
    pub seq: u64,
    /// The attributes, names upper-cased as sent.
    pub items: Vec<(&'a [u8], Value<'a>)>,
}

fn fetch_response<'a>(r: &mut Reader<'a>) -> Res<Fetch<'a>> {
    r.expect(b"* ")?;
    let seq = r.number()?;
    r.expect(b" FETCH ")?;
    let list = r.list(1)?;
    r.expect(b"\r\n")?;
    if list.len() % 2 != 0 {
        return Err(format!("FETCH {seq}: odd number of items"));
    }
    let mut items = Vec::new();
    let mut it = list.into_iter();
    while let (Some(name), Some(value)) = (it.next(), it.next()) {
        let Value::Atom(name) = name else {
            return Err(format!("FETCH {seq}: item name is not an atom: {name:?}"));
        };
        match name {
            b"ENVELOPE" => check_envelope(&value)?,
            b"BODY" | b"BODYSTRUCTURE" => check_body(&value, 0)?,
            b"UID" | b"RFC822.SIZE" if !value.is_number() => {
                return Err(format!(
                    "FETCH {seq}: {} is not a number",
                    String::from_utf8_lossy(name)
                ));
            }
            _ => {}
        }
        items.push((name, value));
    }
    Ok(Fetch { seq, items })
}

fn is_fetch_start(b: &[u8]) -> bool {
    let Some(rest) = b.strip_prefix(b"* ") else {
        return false;
    };
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b" FETCH ")
}

/// What a server output held.
pub struct Output<'a> {
    /// Every FETCH response, parsed.
    pub fetches: Vec<Fetch<'a>>,
    /// The first line (without CRLF) of every tagged response, in order.
    pub tagged: Vec<&'a [u8]>,
}

impl Output<'_> {
    /// Whether the tagged response for `tag` is `OK`.
    pub fn ok(&self, tag: &str) -> bool {
        let want = format!("{tag} OK");
        self.tagged.iter().any(|l| l.starts_with(want.as_bytes()))
    }
}

/// Checks a whole server output.
///
/// # Errors
/// The first violation, described with its position and surrounding bytes.
pub fn check_output(out: &[u8]) -> Res<Output<'_>> {
    let mut r = Reader { b: out, pos: 0 };
    let mut fetches = Vec::new();
    let mut tagged = Vec::new();
    while r.pos < out.len() {
        let rest = &out[r.pos..];
        if is_fetch_start(rest) {
            fetches.push(fetch_response(&mut r)?);
            continue;
        }
        if !rest.starts_with(b"* ") && !rest.starts_with(b"+ ") {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .unwrap_or(rest.len());
            tagged.push(&rest[..end]);
        }
        r.skip_response()?;
    }
    Ok(Output { fetches, tagged })
}
