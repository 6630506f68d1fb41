//! Borrowed C views of Rust values, alive for one listener call.

use std::ptr;

use super::types::*;
use crate::profile::Profile;
use crate::response::{HeaderFields, ResponseHead};
use crate::task::{Progress, TaskResult};

fn header_views(fields: &HeaderFields) -> Vec<nettask_header> {
    fields
        .iter()
        .map(|(name, value)| nettask_header {
            name: name.as_ptr(),
            value: value.as_ptr(),
        })
        .collect()
}

fn ptr_or_null<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        ptr::null()
    } else {
        items.as_ptr()
    }
}

/// Calls `f` with a view of `head` that borrows from it.
pub(crate) fn with_head<R>(head: &ResponseHead, f: impl FnOnce(&nettask_response_head) -> R) -> R {
    let headers = header_views(&head.headers);
    f(&nettask_response_head {
        status_code: head.status_code,
        http_version: head.http_version.as_ptr(),
        headers: ptr_or_null(&headers),
        header_count: headers.len(),
    })
}

pub(crate) fn progress(p: &Progress) -> nettask_progress {
    nettask_progress {
        progress: p.progress,
        total_bytes_written: p.total_bytes_written,
        total_bytes_expected_to_write: p.total_bytes_expected_to_write,
    }
}

fn profile(p: &Profile) -> nettask_profile {
    nettask_profile {
        queued_us: p.queued_us,
        dns_done_us: p.dns_done_us,
        connect_done_us: p.connect_done_us,
        tls_done_us: p.tls_done_us,
        request_sent_us: p.request_sent_us,
        first_byte_us: p.first_byte_us,
        total_us: p.total_us,
        redirect_us: p.redirect_us,
        redirect_count: p.redirect_count,
        socket_reused: p.socket_reused,
        peer_ip: p.peer_ip.as_ptr(),
        peer_port: p.peer_port,
        local_port: p.local_port,
        protocol: p.protocol.as_ptr(),
        bytes_sent: p.bytes_sent,
        bytes_received: p.bytes_received,
    }
}

/// Calls `f` with a view of `result` that borrows from it.
pub(crate) fn with_result<R>(result: &TaskResult, f: impl FnOnce(&nettask_result) -> R) -> R {
    let headers = header_views(&result.headers);
    let profile = profile(&result.profile);
    f(&nettask_result {
        code: result.code.into(),
        err_msg: result.err_msg.as_ptr(),
        curl_code: result.curl_code,
        status_code: result.status_code,
        headers: ptr_or_null(&headers),
        header_count: headers.len(),
        data: ptr_or_null(&result.data),
        data_len: result.data.len(),
        file_path: result
            .file_path
            .as_ref()
            .map_or(ptr::null(), |p| p.as_ptr()),
        data_length: result.data_length,
        profile: &profile,
    })
}
