//! What can go wrong turning frames into messages and back.

use std::fmt;

/// A part of a frame, named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The frame as a whole.
    Frame,
    /// The binary frame's kind byte.
    Kind,
    /// The binary frame's length header.
    Header,
    /// `join_ref`.
    JoinRef,
    /// `ref`.
    Ref,
    /// `topic`.
    Topic,
    /// `event`.
    Event,
    /// `payload`.
    Payload,
    /// A reply's `status`.
    Status,
    /// A reply's `response`.
    Response,
}

impl Field {
    /// The field's name as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Frame => "frame",
            Field::Kind => "kind",
            Field::Header => "header",
            Field::JoinRef => "join_ref",
            Field::Ref => "ref",
            Field::Topic => "topic",
            Field::Event => "event",
            Field::Payload => "payload",
            Field::Status => "status",
            Field::Response => "response",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a frame could not be decoded.
///
/// Decoding never panics: every input, however malformed, ends in a message or in one of
/// these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame has no bytes.
    #[error("empty frame")]
    Empty,
    /// The text is not JSON, or is cut short, or has data after the value.
    #[error("malformed JSON at byte {offset}: {source}")]
    Syntax {
        /// The byte offset where the parser gave up.
        offset: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is well formed but a field has the wrong type, or the frame the wrong shape.
    #[error("{field} has the wrong shape at byte {offset}: {source}")]
    Shape {
        /// The field being read.
        field: Field,
        /// The byte offset where the parser gave up.
        offset: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A required field is absent.
    #[error("{field} is missing")]
    Missing {
        /// The missing field.
        field: Field,
    },
    /// A binary frame's field is not UTF-8.
    #[error("{field} at byte {offset} is not valid UTF-8")]
    Utf8 {
        /// The field.
        field: Field,
        /// Where the field starts.
        offset: usize,
    },
    /// A binary frame's first byte is not a kind this direction carries.
    #[error("unknown binary frame kind {kind}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A binary frame ends before a field its header announced.
    #[error(
        "binary frame ends early: {field} needs {needed} bytes at byte {offset}, frame has {len}"
    )]
    Truncated {
        /// The field that does not fit.
        field: Field,
        /// Where the field starts.
        offset: usize,
        /// How many bytes it needs.
        needed: usize,
        /// The frame's length.
        len: usize,
    },
    /// The serializer does not carry binary frames (V1).
    #[error("the V1 serializer does not carry binary frames")]
    BinaryNotSupported,
}

impl DecodeError {
    pub(crate) fn from_json(source: serde_json::Error, field: Field, text: &[u8]) -> Self {
        let offset = byte_offset(text, source.line(), source.column());
        match source.classify() {
            serde_json::error::Category::Data => DecodeError::Shape {
                field,
                offset,
                source,
            },
            _ => DecodeError::Syntax { offset, source },
        }
    }

    /// The same error with its byte offset moved `by` bytes on: for errors found in a part
    /// of the frame (a reply's body) that must point into the whole frame.
    pub(crate) fn shifted(self, by: usize) -> Self {
        match self {
            DecodeError::Syntax { offset, source } => DecodeError::Syntax {
                offset: offset + by,
                source,
            },
            DecodeError::Shape {
                field,
                offset,
                source,
            } => DecodeError::Shape {
                field,
                offset: offset + by,
                source,
            },
            other => other,
        }
    }

    /// The field the error is about, where there is one.
    pub fn field(&self) -> Option<Field> {
        match self {
            DecodeError::Shape { field, .. }
            | DecodeError::Missing { field }
            | DecodeError::Utf8 { field, .. }
            | DecodeError::Truncated { field, .. } => Some(*field),
            _ => None,
        }
    }
}

/// Turns serde_json's 1-based line and column into a byte offset.
fn byte_offset(text: &[u8], line: usize, column: usize) -> usize {
    let line_start = text
        .split(|&b| b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Why a message could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A binary frame stores each field's length in one byte.
    #[error("{field} is {len} bytes long; binary frames allow at most 255")]
    FieldTooLong {
        /// The field.
        field: Field,
        /// Its length in bytes.
        len: usize,
    },
    /// The V1 serializer carries JSON only.
    #[error("the V1 serializer cannot carry binary payloads")]
    BinaryNotSupported,
}

/// Why a payload could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The text is not exactly one JSON value.
    #[error("invalid JSON payload: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The bytes are not UTF-8.
    #[error("JSON payload is not valid UTF-8")]
    NotUtf8,
    /// A value could not be serialized to JSON.
    #[error("payload could not be serialized: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The JSON does not fit the requested type.
    #[error("payload does not decode into the requested type: {0}")]
    Decode(#[source] serde_json::Error),
    /// A binary payload was asked for as JSON.
    #[error("payload is binary, not JSON")]
    Binary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_lines() {
        assert_eq!(byte_offset(b"abc", 1, 2), 1);
        assert_eq!(byte_offset(b"ab\ncd", 2, 2), 4);
        assert_eq!(byte_offset(b"ab", 9, 9), 2);
    }
}
