/*
 * The fields of version 1 of every struct in the API, as an X-macro:
 * X(struct, field). A program built against the version-1 header reads and
 * writes them at these offsets, so their offset and size must be the same
 * in every later header (tests/abi/check_v1.c compares the two).
 */
#define NETTASK_V1_FIELDS(X)                   \
  X(nettask_client_options, version)           \
  X(nettask_client_options, max_concurrent_tasks) \
  X(nettask_client_options, max_connections_per_host) \
  X(nettask_client_options, default_timeout_ms) \
  X(nettask_client_options, user_agent)        \
  X(nettask_client_options, ca_file)           \
  X(nettask_client_options, proxy)             \
  X(nettask_client_options, temp_dir)          \
  X(nettask_header, name)                      \
  X(nettask_header, value)                     \
  X(nettask_request_options, version)          \
  X(nettask_request_options, url)              \
  X(nettask_request_options, method)           \
  X(nettask_request_options, headers)          \
  X(nettask_request_options, header_count)     \
  X(nettask_request_options, body)             \
  X(nettask_request_options, body_len)         \
  X(nettask_request_options, timeout_ms)       \
  X(nettask_request_options, follow_redirects) \
  X(nettask_request_options, max_redirects)    \
  X(nettask_request_options, idle_timeout_ms)  \
  X(nettask_request_options, enable_http2)     \
  X(nettask_request_options, enable_chunked)   \
  X(nettask_request_options, max_response_bytes) \
  X(nettask_request_options, file_path)        \
  X(nettask_request_options, http2_prior_knowledge) \
  X(nettask_response_head, status_code)        \
  X(nettask_response_head, http_version)       \
  X(nettask_response_head, headers)            \
  X(nettask_response_head, header_count)       \
  X(nettask_progress, progress)                \
  X(nettask_progress, total_bytes_written)     \
  X(nettask_progress, total_bytes_expected_to_write) \
  X(nettask_profile, queued_us)                \
  X(nettask_profile, dns_done_us)              \
  X(nettask_profile, connect_done_us)          \
  X(nettask_profile, tls_done_us)              \
  X(nettask_profile, request_sent_us)          \
  X(nettask_profile, first_byte_us)            \
  X(nettask_profile, total_us)                 \
  X(nettask_profile, redirect_us)              \
  X(nettask_profile, redirect_count)           \
  X(nettask_profile, socket_reused)            \
  X(nettask_profile, peer_ip)                  \
  X(nettask_profile, peer_port)                \
  X(nettask_profile, local_port)               \
  X(nettask_profile, protocol)                 \
  X(nettask_profile, bytes_sent)               \
  X(nettask_profile, bytes_received)           \
  X(nettask_result, code)                      \
  X(nettask_result, err_msg)                   \
  X(nettask_result, curl_code)                 \
  X(nettask_result, status_code)               \
  X(nettask_result, headers)                   \
  X(nettask_result, header_count)              \
  X(nettask_result, data)                      \
  X(nettask_result, data_len)                  \
  X(nettask_result, file_path)                 \
  X(nettask_result, data_length)               \
  X(nettask_result, profile)

/* One field's place in a struct layout. */
typedef struct abi_field {
  const char *name;
  size_t offset;
  size_t size;
} abi_field;

#define ABI_FIELD(type, field) \
  {#type "." #field, offsetof(type, field), sizeof(((type *)0)->field)},
