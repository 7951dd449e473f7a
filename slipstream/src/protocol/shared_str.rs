//! A cheaply cloneable, immutable UTF-8 string.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// An immutable UTF-8 string whose clones share one buffer.
///
/// Topics, events and refs decoded from a frame are slices of that frame, so decoding them
/// allocates nothing and cloning them (into a hub, a subscriber queue, a callback) is a
/// reference-count increment.
///
/// # Examples
///
/// ```
/// use slipstream::protocol::SharedStr;
///
/// let topic = SharedStr::from("rooms:lobby");
/// let again = topic.clone();
/// assert_eq!(again, "rooms:lobby");
/// assert_eq!(topic.len(), 11);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedStr(Utf8Bytes);

impl SharedStr {
    /// Wraps a `&'static str` without copying it.
    pub const fn from_static(s: &'static str) -> Self {
        Self(Utf8Bytes::from_static(s))
    }

    /// The string itself.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The UTF-8 bytes, sharing this string's buffer.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_ref()
    }

    /// Checks that `bytes` is UTF-8 and wraps it without copying.
    ///
    /// # Errors
    ///
    /// Returns the bytes' UTF-8 error when they are not valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Utf8Bytes::try_from(bytes).map(Self)
    }

    pub(crate) fn into_utf8_bytes(self) -> Utf8Bytes {
        self.0
    }

    pub(crate) fn from_utf8_bytes(bytes: Utf8Bytes) -> Self {
        Self(bytes)
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for SharedStr {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> Self {
        Self(Utf8Bytes::from(s))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> Self {
        Self(Utf8Bytes::from(s))
    }
}

impl From<&String> for SharedStr {
    fn from(s: &String) -> Self {
        Self(Utf8Bytes::from(s.as_str()))
    }
}

impl From<&SharedStr> for SharedStr {
    fn from(s: &SharedStr) -> Self {
        s.clone()
    }
}

impl From<SharedStr> for String {
    fn from(s: SharedStr) -> Self {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<SharedStr> for str {
    fn eq(&self, other: &SharedStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<SharedStr> for &str {
    fn eq(&self, other: &SharedStr) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SharedStr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_buffer() {
        let a = SharedStr::from(String::from("rooms:lobby"));
        let b = a.clone();
        assert_eq!(a.as_bytes().as_ptr(), b.as_bytes().as_ptr());
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert!(SharedStr::from_utf8(Bytes::from_static(b"\xff\xfe")).is_err());
        assert_eq!(
            SharedStr::from_utf8(Bytes::from_static(b"ok")).unwrap(),
            "ok"
        );
    }

    #[test]
    fn looks_up_by_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(SharedStr::from("a"), 1);
        assert_eq!(map.get("a"), Some(&1));
    }
}
