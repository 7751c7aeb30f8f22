//! Just enough JSON for init's own use: string literals for JSON log lines
//! and status.json, and a reader for the status file — objects, arrays,
//! strings, integers, booleans and null, with a depth limit; every input
//! gives a value or an error naming the byte offset, never a panic (fuzzed).

use std::fmt::Write;

/// Appends `s` as a JSON string literal (log lines and status.json).
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // C0, DEL and C1 (docs/security.md, "Texts from others").
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        if let Json::Str(s) = self { Some(s) } else { None }
    }
    pub fn as_i64(&self) -> Option<i64> {
        if let Json::Num(n) = self { Some(*n) } else { None }
    }
    pub fn as_array(&self) -> Option<&[Json]> {
        if let Json::Arr(a) = self { Some(a) } else { None }
    }
}

/// Why a text is not the JSON init reads, at which byte.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("trailing data at byte {0}")]
    Trailing(usize),
    #[error("expected {want:?} at byte {at}")]
    Expected { want: char, at: usize },
    /// Neither `,` nor the closing bracket of an array or object.
    #[error("expected , or {close} at byte {at}")]
    Unclosed { close: char, at: usize },
    #[error("nested too deeply")]
    TooDeep,
    #[error("unexpected input at byte {0}")]
    Unexpected(usize),
    #[error("bad number at byte {0}")]
    Number(usize),
    #[error("unterminated string")]
    Unterminated,
    #[error("string not UTF-8")]
    NotUtf8,
    #[error("short \\u escape")]
    ShortEscape,
    #[error("bad \\u escape")]
    BadEscape,
}

crate::error::debug_by_display!(Error);

/// Parses a whole JSON document.
pub fn parse(text: &str) -> Result<Json, Error> {
    Parser { s: text.as_bytes(), i: 0 }.document()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn document(mut self) -> Result<Json, Error> {
        let v = self.value(0)?;
        self.ws();
        if self.i != self.s.len() {
            return Err(Error::Trailing(self.i));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), Error> {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            Ok(())
        } else {
            Err(Error::Expected { want: b as char, at: self.i })
        }
    }

    fn value(&mut self, depth: u32) -> Result<Json, Error> {
        if depth > 16 {
            return Err(Error::TooDeep);
        }
        self.ws();
        let rest = &self.s[self.i.min(self.s.len())..];
        for (word, v) in [("null", Json::Null), ("true", Json::Bool(true)), ("false", Json::Bool(false))] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(v);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Error::Unexpected(self.i)),
        }
    }

    /// `[ value, ... ]`, from its opening bracket.
    fn array(&mut self, depth: u32) -> Result<Json, Error> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                _ => return Err(Error::Unclosed { close: ']', at: self.i }),
            }
        }
    }

    /// `{ "key": value, ... }`, from its opening brace.
    fn object(&mut self, depth: u32) -> Result<Json, Error> {
        self.i += 1;
        let mut fields = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(Json::Obj(fields));
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            fields.push((key, self.value(depth + 1)?));
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                _ => return Err(Error::Unclosed { close: '}', at: self.i }),
            }
        }
    }

    /// An integer: init's own files hold no fractions or exponents.
    fn number(&mut self) -> Result<Json, Error> {
        let start = self.i;
        self.i += 1;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        text.parse().map(Json::Num).map_err(|_| Error::Number(start))
    }

    fn string(&mut self) -> Result<String, Error> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or(Error::Unterminated)?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map_err(|_| Error::NotUtf8),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or(Error::Unterminated)?;
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4).ok_or(Error::ShortEscape)?;
                            self.i += 4;
                            let code = std::str::from_utf8(hex)
                                .ok()
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or(Error::BadEscape)?;
                            let c = char::from_u32(code).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_and_control_characters() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}\u{1b}\u{7f}\u{9b}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001\u001b\u007f\u009bé""#);
    }

    #[test]
    fn values_parse_and_errors_name_the_byte() {
        let v = parse(r#"{"a": [1, -2, true, null, "x\u0041\n"], "b": {}}"#).unwrap();
        let items = v.get("a").and_then(Json::as_array).unwrap();
        assert_eq!(items[1], Json::Num(-2));
        assert_eq!(items[4].as_str(), Some("xA\n"));
        assert_eq!(parse("[1,]").unwrap_err(), Error::Unexpected(3));
        assert_eq!(parse("[1,]").unwrap_err().to_string(), "unexpected input at byte 3");
        assert_eq!(parse("\"\\u12").unwrap_err().to_string(), "short \\u escape");
    }
}
