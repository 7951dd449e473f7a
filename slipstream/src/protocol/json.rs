//! JSON pieces shared by the V1 and V2 serializers: borrowed strings read from a frame,
//! and strings written into one.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;

use super::error::{DecodeError, Field};
use super::{Json, SharedStr};

/// A string read from a frame: borrowed when the frame holds it verbatim, owned when it
/// had escapes to undo.
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Asking for a string makes serde_json refuse anything else, numbers included,
        // before the visitor sees it.
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Reads a string, borrowed where possible. Numbers are read as their decimal text, which
/// only [`RefText`] asks for: it deserializes with `deserialize_any`.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Owned(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text::Owned(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text::Owned(v.to_string()))
    }
}

/// A ref: a string, or a number read as its decimal text. Some clients send refs as numbers;
/// Phoenix echoes whatever it was given, and so do we.
pub(crate) struct RefText<'a>(pub(crate) Text<'a>);

impl<'de> Deserialize<'de> for RefText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor).map(RefText)
    }
}

/// The text frame a decoder reads from, so that borrowed strings can become shared slices
/// of it.
pub(crate) struct Source<'a> {
    pub(crate) frame: &'a SharedStr,
}

impl Source<'_> {
    /// Where `part` starts in the frame, when it lies inside it.
    pub(crate) fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let bytes = self.frame.as_bytes();
        let start = (part.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        let inside = start <= bytes.len() && part.len() <= bytes.len() - start;
        inside.then_some(start)
    }

    /// A shared slice of the frame when `part` lies inside it, a copy otherwise.
    pub(crate) fn slice(&self, part: &str) -> SharedStr {
        if let Some(start) = self.offset_of(part.as_bytes()) {
            let slice = self.frame.as_bytes().slice(start..start + part.len());
            if let Ok(text) = SharedStr::from_utf8(slice) {
                return text;
            }
        }
        SharedStr::from(part)
    }

    pub(crate) fn text(&self, text: Text<'_>) -> SharedStr {
        match text {
            Text::Borrowed(s) => self.slice(s),
            Text::Owned(s) => SharedStr::from(s),
        }
    }

    /// A raw value as a part of the frame, without checking its UTF-8 again.
    pub(crate) fn json(&self, raw: &RawValue) -> Json {
        let raw = raw.get();
        self.offset_of(raw.as_bytes())
            .and_then(|start| Json::from_frame_part(self.frame, start, raw.len()))
            .unwrap_or_else(|| Json::from_validated(SharedStr::from(raw)))
    }
}

/// Parses `text` with `f`, rejects trailing data, and names the field being read on error.
///
/// The input is a `str` (text frames are UTF-8 already), so serde_json does not validate
/// UTF-8 again for the strings and raw values it hands out.
pub(crate) fn parse<'a, T>(
    text: &'a str,
    current: &std::cell::Cell<Field>,
    f: impl FnOnce(&mut serde_json::Deserializer<serde_json::de::StrRead<'a>>) -> serde_json::Result<T>,
) -> Result<T, DecodeError> {
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let bytes = text.as_bytes();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = f(&mut de).map_err(|e| DecodeError::from_json(e, current.get(), bytes))?;
    current.set(Field::Frame);
    de.end()
        .map_err(|e| DecodeError::from_json(e, Field::Frame, bytes))?;
    Ok(value)
}

/// Appends `s` as a JSON string, escaping as Phoenix's encoder does.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// How many bytes `s` takes as a JSON string, quotes included, written by [`write_str`]:
/// the shortest way to write it, so any other writing of the same string is longer.
pub(crate) fn written_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0x00..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + escapes + 2
}

/// Appends `s` as a JSON string, or `null`.
pub(crate) fn write_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_len_matches_what_is_written() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{1}\u{1f}\n\r\t\u{8}\u{c}",
            "ünï/cødé",
            "",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(written_len(s), out.len(), "{s:?}");
        }
    }

    #[test]
    fn escapes_like_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "ctl\u{1}\u{1f}\n\r\t\u{8}\u{c}",
            "ünï/cødé",
        ] {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }
}
