//! Message payloads: JSON kept as its raw bytes, or binary.

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use super::SharedStr;
use super::error::PayloadError;

/// One complete JSON value, kept as the bytes it arrived as.
///
/// A `Json` is validated once, when it is made; afterwards it is only copied by reference
/// count. Forwarding it (as the repeater does) never parses or re-encodes it; only
/// [`Json::decode`] parses it, into whatever type the caller asks for.
#[derive(Clone)]
pub struct Json(Text);

/// Where a [`Json`]'s text lives.
#[derive(Clone)]
enum Text {
    /// All of a string.
    Whole(SharedStr),
    /// A part of a decoded frame: the frame and where the part starts and ends. Both ends
    /// are character boundaries of the frame, so the part is UTF-8 without checking it
    /// again. Only the frame is reference-counted: decoding a message is one count less.
    Part {
        frame: SharedStr,
        start: usize,
        end: usize,
    },
}

impl Json {
    /// `{}`, the payload Phoenix sends when there is nothing to say.
    pub const EMPTY_OBJECT: Json = Json(Text::Whole(SharedStr::from_static("{}")));

    /// Checks that `raw` holds exactly one JSON value and keeps it as it is.
    ///
    /// White space around the value is dropped (white space inside it is kept): a frame
    /// cannot carry it, so a payload that kept it would not survive a round trip.
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::InvalidJson`] when `raw` is not one complete JSON value.
    ///
    /// # Examples
    ///
    /// ```
    /// use slipstream::protocol::Json;
    ///
    /// let raw = Json::from_raw(r#"{"body":"hi"}"#)?;
    /// assert_eq!(raw.as_str(), r#"{"body":"hi"}"#);
    /// assert!(Json::from_raw("{").is_err());
    /// # Ok::<(), slipstream::protocol::PayloadError>(())
    /// ```
    pub fn from_raw(raw: impl Into<Bytes>) -> Result<Self, PayloadError> {
        let raw = raw.into();
        serde_json::from_slice::<IgnoredAny>(&raw).map_err(PayloadError::InvalidJson)?;
        let text =
            SharedStr::from_utf8(trim_whitespace(&raw)).map_err(|_| PayloadError::NotUtf8)?;
        Ok(Self::from_validated(text))
    }

    /// Serializes `value` to JSON.
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::Serialize`] when `value`'s `Serialize` impl fails (for
    /// example a map with non-string keys).
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        let bytes = serde_json::to_vec(value).map_err(PayloadError::Serialize)?;
        let text = SharedStr::from_utf8(Bytes::from(bytes)).map_err(|_| PayloadError::NotUtf8)?;
        Ok(Self::from_validated(text))
    }

    /// Wraps text a decoder has already validated as one JSON value.
    pub(crate) fn from_validated(text: SharedStr) -> Self {
        Self(Text::Whole(text))
    }

    /// Wraps `len` bytes of `frame` from `start`, which a decoder has validated as one JSON
    /// value, sharing the frame's buffer; `None` if that is not a range of whole characters
    /// inside the frame.
    pub(crate) fn from_frame_part(frame: &SharedStr, start: usize, len: usize) -> Option<Self> {
        let end = start.checked_add(len)?;
        frame.as_str().get(start..end)?;
        Some(Self(Text::Part {
            frame: frame.clone(),
            start,
            end,
        }))
    }

    /// The frame this JSON was decoded from, and where in it the JSON starts.
    pub(crate) fn frame_part(&self) -> Option<(&SharedStr, usize)> {
        match &self.0 {
            Text::Part { frame, start, .. } => Some((frame, *start)),
            Text::Whole(_) => None,
        }
    }

    /// Parses the JSON into `T`.
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::Decode`] when the JSON does not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        serde_json::from_str(self.as_str()).map_err(PayloadError::Decode)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Text::Whole(text) => text.as_str(),
            // In range and on character boundaries: checked when the part was made.
            Text::Part { frame, start, end } => &frame.as_str()[*start..*end],
        }
    }

    /// The JSON text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The JSON text as [`Bytes`] sharing the buffer it came in (no copy).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Text::Whole(text) => text.as_bytes().clone(),
            Text::Part { frame, start, end } => frame.as_bytes().slice(*start..*end),
        }
    }

    /// The JSON text as a [`SharedStr`] of its own, sharing the buffer it came in.
    ///
    /// Decoded payloads are parts of their frame; this checks the part's UTF-8 once more,
    /// so prefer [`Json::as_str`] where a `&str` does.
    pub fn to_shared_str(&self) -> SharedStr {
        match &self.0 {
            Text::Whole(text) => text.clone(),
            Text::Part { .. } => SharedStr::from_utf8(self.to_bytes())
                .unwrap_or_else(|_| SharedStr::from(self.as_str())),
        }
    }

    /// True for `{}` written without white space, the empty payload Phoenix sends.
    pub fn is_empty_object(&self) -> bool {
        self.as_str() == "{}"
    }
}

/// `raw` without the JSON white space (space, tab, line feed, carriage return) around it.
fn trim_whitespace(raw: &Bytes) -> Bytes {
    let is_value = |b: &u8| !matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let start = raw.iter().position(is_value).unwrap_or(raw.len());
    let end = raw.iter().rposition(is_value).map_or(start, |i| i + 1);
    raw.slice(start..end)
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Json {}

impl std::hash::Hash for Json {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({} bytes)", self.as_str().len())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The payload of a Phoenix message: JSON, or binary bytes.
///
/// `Debug` shows only the kind and the length: payloads may carry secrets, so they never
/// reach a log through this crate.
///
/// # Examples
///
/// ```
/// use serde::Deserialize;
/// use slipstream::protocol::Payload;
///
/// #[derive(Deserialize)]
/// struct NewMsg {
///     body: String,
/// }
///
/// let payload = Payload::from_raw_json(r#"{"body":"hello"}"#)?;
/// let msg: NewMsg = payload.decode()?;
/// assert_eq!(msg.body, "hello");
///
/// let blob = Payload::binary(vec![0u8, 1, 2]);
/// assert_eq!(blob.as_binary().unwrap().as_ref(), &[0, 1, 2]);
/// # Ok::<(), slipstream::protocol::PayloadError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Payload {
    /// A JSON value, kept as its raw text.
    Json(Json),
    /// Binary bytes, carried in V2 binary frames.
    Binary(Bytes),
}

impl Payload {
    /// `{}`.
    pub const fn empty() -> Self {
        Payload::Json(Json::EMPTY_OBJECT)
    }

    /// Serializes `value` to a JSON payload.
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::Serialize`] when `value` cannot be serialized.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        Json::encode(value).map(Payload::Json)
    }

    /// Validates and keeps raw JSON text, see [`Json::from_raw`].
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::InvalidJson`] when `raw` is not one JSON value.
    pub fn from_raw_json(raw: impl Into<Bytes>) -> Result<Self, PayloadError> {
        Json::from_raw(raw).map(Payload::Json)
    }

    /// A binary payload.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Payload::Binary(bytes.into())
    }

    /// Parses a JSON payload into `T`.
    ///
    /// # Errors
    ///
    /// Returns [`PayloadError::Decode`] when the JSON does not fit `T`, and
    /// [`PayloadError::Binary`] for a binary payload.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        match self {
            Payload::Json(json) => json.decode(),
            Payload::Binary(_) => Err(PayloadError::Binary),
        }
    }

    /// The JSON, if this is a JSON payload.
    pub fn as_json(&self) -> Option<&Json> {
        match self {
            Payload::Json(json) => Some(json),
            Payload::Binary(_) => None,
        }
    }

    /// The bytes, if this is a binary payload.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Payload::Binary(bytes) => Some(bytes),
            Payload::Json(_) => None,
        }
    }

    /// True for a binary payload.
    pub fn is_binary(&self) -> bool {
        matches!(self, Payload::Binary(_))
    }

    /// The payload's raw bytes: JSON text or binary data.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Json(json) => json.as_bytes(),
            Payload::Binary(bytes) => bytes,
        }
    }

    /// The payload's raw bytes as [`Bytes`] sharing the buffer they came in (no copy).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Payload::Json(json) => json.to_bytes(),
            Payload::Binary(bytes) => bytes.clone(),
        }
    }

    /// The size of the payload in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True when the payload has no bytes at all (only a binary payload can).
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Json(json) => write!(f, "Json({} bytes)", json.as_str().len()),
            Payload::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
        }
    }
}

impl From<Json> for Payload {
    fn from(json: Json) -> Self {
        Payload::Json(json)
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Payload::from(&value)
    }
}

impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Self {
        // A `Value` always serializes: its map keys are strings.
        let text = value.to_string();
        Payload::Json(Json::from_validated(SharedStr::from(text)))
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Payload::Binary(bytes)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Payload::Binary(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_json_is_kept_byte_for_byte() {
        let raw = "{ \"b\" : 1,\"a\":[ 2 ] }";
        let payload = Payload::from_raw_json(raw).unwrap();
        assert_eq!(payload.as_bytes(), raw.as_bytes());
    }

    #[test]
    fn parts_of_a_frame_equal_and_hash_like_whole_strings() {
        use std::hash::BuildHasher;
        let frame = SharedStr::from(r#"[null,null,"t","e",{"a":"é"}]"#);
        let part = Json::from_frame_part(&frame, 19, 10).unwrap();
        let whole = Json::from_raw(r#"{"a":"é"}"#).unwrap();
        assert_eq!(part.as_str(), r#"{"a":"é"}"#);
        assert_eq!(part, whole);
        let hasher = std::hash::RandomState::new();
        assert_eq!(hasher.hash_one(&part), hasher.hash_one(&whole));
        assert_eq!(part.as_bytes().as_ptr(), frame.as_bytes()[19..].as_ptr());
        assert_eq!(part.to_shared_str(), whole.to_shared_str());
        // Not a range of whole characters: refused rather than sliced.
        assert!(Json::from_frame_part(&frame, 26, 1).is_none());
        assert!(Json::from_frame_part(&frame, 30, 9).is_none());
    }

    #[test]
    fn white_space_around_the_value_is_dropped() {
        let payload = Payload::from_raw_json(" \r\n{ \"a\" : 1 }\t ").unwrap();
        assert_eq!(payload.as_bytes(), b"{ \"a\" : 1 }");
    }

    #[test]
    fn rejects_trailing_data_and_fragments() {
        assert!(matches!(
            Json::from_raw("{} {}"),
            Err(PayloadError::InvalidJson(_))
        ));
        assert!(matches!(
            Json::from_raw(""),
            Err(PayloadError::InvalidJson(_))
        ));
        assert!(matches!(
            Json::from_raw(vec![b'"', 0xff, b'"']),
            Err(PayloadError::NotUtf8)
        ));
    }

    #[test]
    fn binary_payloads_do_not_decode_as_json() {
        let payload = Payload::binary(&b"{}"[..]);
        assert!(matches!(
            payload.decode::<serde_json::Value>(),
            Err(PayloadError::Binary)
        ));
    }

    #[test]
    fn debug_hides_contents() {
        let payload = Payload::from(serde_json::json!({ "token": "secret" }));
        assert!(!format!("{payload:?}").contains("secret"));
    }
}
