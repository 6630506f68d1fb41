//! JS values as bytes: what a body or a file's data may be.

use rquickjs::Value;

/// The bytes of an ArrayBuffer or Uint8Array, copied.
pub fn bytes_of(value: &Value<'_>) -> Option<Vec<u8>> {
    let obj = value.as_object()?;
    let raw = if let Some(buffer) = obj.as_array_buffer() {
        buffer.as_raw()
    } else {
        obj.as_typed_array::<u8>()?.as_raw()
    };
    // A detached buffer has no bytes.
    let Some(raw) = raw else {
        return Some(Vec::new());
    };
    // SAFETY: the pointer is the buffer's live backing store, and no JS
    // runs while it is copied.
    Some(unsafe { raw.as_ref() }.to_vec())
}

/// A string or the bytes of an ArrayBuffer / Uint8Array.
pub fn body_of(value: &Value<'_>) -> Option<Vec<u8>> {
    if let Some(s) = value.as_string() {
        return s.to_string().ok().map(String::into_bytes);
    }
    bytes_of(value)
}
