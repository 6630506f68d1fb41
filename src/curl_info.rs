//! `curl_easy_getinfo` items read from raw easy handles, for the items
//! and types the curl crate does not offer.

use std::ffi::{CStr, CString, c_char, c_long};

// Values from curl/curl.h (curl-sys exports only some).
pub(crate) const CURLINFO_OFF_T: curl_sys::CURLINFO = 0x600000;
pub(crate) const CURLINFO_NUM_CONNECTS: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 26;
pub(crate) const CURLINFO_PRIMARY_IP: curl_sys::CURLINFO = curl_sys::CURLINFO_STRING + 32;
pub(crate) const CURLINFO_PRIMARY_PORT: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 40;
pub(crate) const CURLINFO_LOCAL_PORT: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 42;
pub(crate) const CURLINFO_HTTP_VERSION: curl_sys::CURLINFO = curl_sys::CURLINFO_LONG + 46;
pub(crate) const CURLINFO_SIZE_DOWNLOAD_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 8;
pub(crate) const CURLINFO_NAMELOOKUP_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 51;
pub(crate) const CURLINFO_CONNECT_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 52;
pub(crate) const CURLINFO_PRETRANSFER_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 53;
pub(crate) const CURLINFO_STARTTRANSFER_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 54;
pub(crate) const CURLINFO_TOTAL_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 50;
pub(crate) const CURLINFO_POSTTRANSFER_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 67;
pub(crate) const CURLINFO_APPCONNECT_TIME_T: curl_sys::CURLINFO = CURLINFO_OFF_T + 56;
pub(crate) const CURLINFO_CONN_ID: curl_sys::CURLINFO = CURLINFO_OFF_T + 64;

const CURLINFO_SOCKET: curl_sys::CURLINFO = 0x500000;
pub(crate) const CURLINFO_ACTIVESOCKET: curl_sys::CURLINFO = CURLINFO_SOCKET + 44;

/// `curl_easy_getinfo` on a live easy handle; an item libcurl does not
/// have reads as 0 or `None`.
pub(crate) struct Info(*mut curl_sys::CURL);

impl Info {
    /// # Safety
    /// `easy` is a live easy handle, used by no other thread while the
    /// `Info` lives.
    pub unsafe fn new(easy: *mut curl_sys::CURL) -> Info {
        Info(easy)
    }

    pub fn long(&self, item: curl_sys::CURLINFO) -> c_long {
        let mut value: c_long = 0;
        // SAFETY: `self.0` is a live easy handle (the contract of
        // `Info::new`), and `item` is a CURLINFO_LONG item, for which
        // libcurl writes one `long`.
        let rc = unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut c_long) };
        if rc == curl_sys::CURLE_OK { value } else { 0 }
    }

    pub fn off_t(&self, item: curl_sys::CURLINFO) -> i64 {
        let mut value: i64 = 0;
        // SAFETY: a live easy handle (see `long`), and `item` is a
        // CURLINFO_OFF_T item, for which libcurl writes one `curl_off_t` (i64).
        let rc = unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut i64) };
        if rc == curl_sys::CURLE_OK { value } else { 0 }
    }

    pub fn string(&self, item: curl_sys::CURLINFO) -> Option<CString> {
        let mut value: *const c_char = std::ptr::null();
        // SAFETY: a live easy handle (see `long`), and `item` is a
        // CURLINFO_STRING item, for which libcurl writes a pointer to a
        // NUL-terminated string it owns, or NULL.
        let rc =
            unsafe { curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut *const c_char) };
        // SAFETY: non-NULL values are NUL-terminated strings that live at
        // least until the next call on the handle; copied at once.
        (rc == curl_sys::CURLE_OK && !value.is_null())
            .then(|| unsafe { CStr::from_ptr(value) }.into())
    }

    /// The socket of the transfer's connection, if it has one.
    pub fn socket(&self, item: curl_sys::CURLINFO) -> Option<curl_sys::curl_socket_t> {
        let mut value: curl_sys::curl_socket_t = curl_sys::CURL_SOCKET_BAD;
        // SAFETY: a live easy handle (see `long`), and `item` is a
        // CURLINFO_SOCKET item, for which libcurl writes one `curl_socket_t`.
        let rc = unsafe {
            curl_sys::curl_easy_getinfo(self.0, item, &mut value as *mut curl_sys::curl_socket_t)
        };
        (rc == curl_sys::CURLE_OK && value != curl_sys::CURL_SOCKET_BAD).then_some(value)
    }
}
