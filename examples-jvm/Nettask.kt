// nettask's C API through JNA, as a JVM or Android host binds it. Every
// struct mirrors include/nettask.h field for field: C `bool` is one byte
// (Byte here), `size_t` is SizeT, enums are Int.
package nettask

import com.sun.jna.Callback
import com.sun.jna.IntegerType
import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.Structure
import com.sun.jna.ptr.PointerByReference

class SizeT @JvmOverloads constructor(value: Long = 0) : IntegerType(Native.SIZE_T_SIZE, value, true) {
    // kotlin.Number wants these; java.lang.Number has them.
    override fun toByte(): Byte = toInt().toByte()
    override fun toChar(): Char = toInt().toChar()
    override fun toShort(): Short = toInt().toShort()
}

@Structure.FieldOrder(
    "version", "url", "method", "headers", "header_count", "body", "body_len", "timeout_ms",
    "follow_redirects", "max_redirects", "idle_timeout_ms", "enable_http2", "enable_chunked",
    "max_response_bytes", "file_path", "http2_prior_knowledge", "accept_encoding",
    "upload_file_path", "upload_name", "form_fields", "form_field_count", "body_file_path",
    "chunk_framing", "pinned_public_keys"
)
/**
 * nettask_request_options as version 2 of the header lays it out. A binding
 * without the C header passes the version its mirror describes to
 * nettask_request_options_init_version; the library then reads exactly these
 * fields, whatever newer version it is.
 */
class RequestOptions : Structure() {
    companion object {
        const val VERSION = 2
    }

    @JvmField var version: Int = 0
    @JvmField var url: String? = null
    @JvmField var method: String? = null
    @JvmField var headers: Pointer? = null
    @JvmField var header_count: SizeT = SizeT()
    @JvmField var body: Pointer? = null
    @JvmField var body_len: SizeT = SizeT()
    @JvmField var timeout_ms: Int = 0
    @JvmField var follow_redirects: Byte = 0
    @JvmField var max_redirects: Int = 0
    @JvmField var idle_timeout_ms: Int = 0
    @JvmField var enable_http2: Byte = 0
    @JvmField var enable_chunked: Byte = 0
    @JvmField var max_response_bytes: Long = 0
    @JvmField var file_path: String? = null
    @JvmField var http2_prior_knowledge: Byte = 0
    // Version 2.
    @JvmField var accept_encoding: String? = null
    @JvmField var upload_file_path: String? = null
    @JvmField var upload_name: String? = null
    @JvmField var form_fields: Pointer? = null
    @JvmField var form_field_count: SizeT = SizeT()
    @JvmField var body_file_path: String? = null
    @JvmField var chunk_framing: Int = 0
    @JvmField var pinned_public_keys: String? = null
}

@Structure.FieldOrder(
    "version", "max_concurrent_tasks", "max_connections_per_host", "default_timeout_ms",
    "user_agent", "ca_file", "proxy", "temp_dir", "enable_cookies", "cookie_file",
    "allowed_hosts", "allowed_host_count", "https_only", "resolve", "resolve_count", "doh_url",
    "delivery", "max_queued_bytes"
)
/** nettask_client_options as version 2 of the header lays it out. */
class ClientOptions : Structure() {
    companion object {
        const val VERSION = 2
    }

    @JvmField var version: Int = 0
    @JvmField var max_concurrent_tasks: Int = 0
    @JvmField var max_connections_per_host: Int = 0
    @JvmField var default_timeout_ms: Int = 0
    @JvmField var user_agent: String? = null
    @JvmField var ca_file: String? = null
    @JvmField var proxy: String? = null
    @JvmField var temp_dir: String? = null
    // Version 2.
    @JvmField var enable_cookies: Byte = 0
    @JvmField var cookie_file: String? = null
    @JvmField var allowed_hosts: Pointer? = null
    @JvmField var allowed_host_count: SizeT = SizeT()
    @JvmField var https_only: Byte = 0
    @JvmField var resolve: Pointer? = null
    @JvmField var resolve_count: SizeT = SizeT()
    @JvmField var doh_url: String? = null
    @JvmField var delivery: Int = 0
    @JvmField var max_queued_bytes: Long = 0
}

@Structure.FieldOrder("status_code", "http_version", "headers", "header_count", "cookies", "cookie_count")
class ResponseHead(p: Pointer) : Structure(p) {
    @JvmField var status_code: Int = 0
    @JvmField var http_version: String? = null
    @JvmField var headers: Pointer? = null
    @JvmField var header_count: SizeT = SizeT()
    @JvmField var cookies: Pointer? = null
    @JvmField var cookie_count: SizeT = SizeT()

    init {
        read()
    }

    fun headerList(): List<Pair<String, String>> = readHeaders(headers, header_count.toLong())

    /** wx's res.cookies: the Set-Cookie values. */
    fun cookieList(): List<String> = readStrings(cookies, cookie_count.toLong())
}

@Structure.FieldOrder(
    "progress", "total_bytes_written", "total_bytes_expected_to_write",
    "total_bytes_sent", "total_bytes_expected_to_send"
)
class Progress(p: Pointer) : Structure(p) {
    @JvmField var progress: Int = 0
    @JvmField var total_bytes_written: Long = 0
    @JvmField var total_bytes_expected_to_write: Long = 0
    @JvmField var total_bytes_sent: Long = 0
    @JvmField var total_bytes_expected_to_send: Long = 0

    init {
        read()
    }
}

@Structure.FieldOrder(
    "queued_us", "dns_done_us", "connect_done_us", "tls_done_us", "request_sent_us",
    "first_byte_us", "total_us", "redirect_us", "redirect_count", "socket_reused", "peer_ip",
    "peer_port", "local_port", "protocol", "bytes_sent", "bytes_received"
)
class Profile(p: Pointer) : Structure(p) {
    @JvmField var queued_us: Long = 0
    @JvmField var dns_done_us: Long = 0
    @JvmField var connect_done_us: Long = 0
    @JvmField var tls_done_us: Long = 0
    @JvmField var request_sent_us: Long = 0
    @JvmField var first_byte_us: Long = 0
    @JvmField var total_us: Long = 0
    @JvmField var redirect_us: Long = 0
    @JvmField var redirect_count: Int = 0
    @JvmField var socket_reused: Byte = 0
    @JvmField var peer_ip: String? = null
    @JvmField var peer_port: Short = 0
    @JvmField var local_port: Short = 0
    @JvmField var protocol: String? = null
    @JvmField var bytes_sent: Long = 0
    @JvmField var bytes_received: Long = 0

    init {
        read()
    }
}

@Structure.FieldOrder(
    "code", "err_msg", "curl_code", "status_code", "headers", "header_count", "data",
    "data_len", "file_path", "data_length", "profile", "cookies", "cookie_count"
)
class Result(p: Pointer) : Structure(p) {
    @JvmField var code: Int = 0
    @JvmField var err_msg: String? = null
    @JvmField var curl_code: Int = 0
    @JvmField var status_code: Int = 0
    @JvmField var headers: Pointer? = null
    @JvmField var header_count: SizeT = SizeT()
    @JvmField var data: Pointer? = null
    @JvmField var data_len: SizeT = SizeT()
    @JvmField var file_path: String? = null
    @JvmField var data_length: Long = 0
    @JvmField var profile: Pointer? = null
    @JvmField var cookies: Pointer? = null
    @JvmField var cookie_count: SizeT = SizeT()

    init {
        read()
    }

    fun cookieList(): List<String> = readStrings(cookies, cookie_count.toLong())

    /** A copy of the body: `data` is only valid during the listener call. */
    fun body(): ByteArray = data?.getByteArray(0, data_len.toInt()) ?: ByteArray(0)
}

/** Reads `count` nettask_header {name, value} pairs. */
fun readHeaders(headers: Pointer?, count: Long): List<Pair<String, String>> {
    if (headers == null) return emptyList()
    val size = Native.POINTER_SIZE.toLong()
    return (0 until count).map { i ->
        headers.getPointer(2 * i * size).getString(0) to headers.getPointer((2 * i + 1) * size).getString(0)
    }
}

/** Reads `count` C strings from an array of `const char *`. */
fun readStrings(array: Pointer?, count: Long): List<String> {
    if (array == null) return emptyList()
    return (0 until count).map { i -> array.getPointer(i * Native.POINTER_SIZE).getString(0) }
}

// Listener types. JNA calls them on the client's event thread; keep every
// instance referenced until its task completed, or the GC frees it while
// native code still holds it.
interface HeadersCallback : Callback {
    fun invoke(task: Pointer, head: Pointer, userData: Pointer?)
}

interface ChunkCallback : Callback {
    fun invoke(task: Pointer, data: Pointer, len: SizeT, userData: Pointer?)
}

interface ProgressCallback : Callback {
    fun invoke(task: Pointer, progress: Pointer, userData: Pointer?)
}

interface CompleteCallback : Callback {
    fun invoke(task: Pointer, result: Pointer, userData: Pointer?)
}

interface NettaskLibrary : Library {
    fun nettask_version(): String
    fun nettask_last_error(): String?
    fun nettask_code_name(code: Int): String
    fun nettask_client_options_init_version(opts: ClientOptions, version: Int): Int
    fun nettask_client_new(opts: ClientOptions?, out: PointerByReference): Int
    fun nettask_client_free(client: Pointer): Int
    fun nettask_client_set_cookie(client: Pointer, line: String): Int
    fun nettask_client_cookies(client: Pointer, out: PointerByReference): Int
    fun nettask_client_clear_cookies(client: Pointer): Int
    fun nettask_string_free(s: Pointer?)
    fun nettask_request_options_init_version(opts: RequestOptions, version: Int): Int
    fun nettask_request_create(client: Pointer, opts: RequestOptions, out: PointerByReference): Int
    fun nettask_download_create(client: Pointer, opts: RequestOptions, out: PointerByReference): Int
    fun nettask_upload_create(client: Pointer, opts: RequestOptions, out: PointerByReference): Int
    fun nettask_start(task: Pointer): Int
    fun nettask_abort(task: Pointer): Int
    fun nettask_release(task: Pointer)
    fun nettask_on_headers_received(task: Pointer, callback: HeadersCallback, userData: Pointer?): Int
    fun nettask_on_chunk_received(task: Pointer, callback: ChunkCallback, userData: Pointer?): Int
    fun nettask_on_progress_update(task: Pointer, callback: ProgressCallback, userData: Pointer?): Int
    fun nettask_on_complete(task: Pointer, callback: CompleteCallback, userData: Pointer?): Int

    companion object {
        /** Found on jna.library.path (or java.library.path / the OS search path). */
        val lib: NettaskLibrary = Native.load("nettask", NettaskLibrary::class.java)
    }
}
