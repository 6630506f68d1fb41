// A JVM host using nettask through JNA, the way an Android app would:
// a request with headers and chunk listeners, a download with progress,
// an upload (wx.uploadFile) with progress, cookies (res.cookies and the
// client's jar), and an abort from another thread.
//
//   usage: Demo BASE_URL     (the loopback test server)
//
// Exits 0 when every step behaved as API.md says.
package nettask

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import com.sun.jna.Pointer
import com.sun.jna.ptr.PointerByReference
import java.io.File
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

private val lib = NettaskLibrary.lib

/** A task with its listeners. The listener objects live as long as this. */
enum class Kind { REQUEST, DOWNLOAD, UPLOAD }

class Task(client: Pointer, configure: RequestOptions.() -> Unit, kind: Kind = Kind.REQUEST) {
    val handle: Pointer
    private val done = CountDownLatch(1)
    @Volatile var code = -1
    @Volatile var errMsg = ""
    @Volatile var status = 0
    @Volatile var body = ByteArray(0)
    val chunks = mutableListOf<String>() // written on the event thread only
    var headers = listOf<Pair<String, String>>()
    var progressEvents = 0
    var lastProgress: Progress? = null
    @Volatile var listenerThread = ""
    @Volatile var cookies = listOf<String>()

    private val onHeaders = object : HeadersCallback {
        override fun invoke(task: Pointer, head: Pointer, userData: Pointer?) {
            val h = ResponseHead(head)
            headers = h.headerList()
            println("  headers: HTTP/${h.http_version} ${h.status_code}, ${headers.size} fields")
        }
    }
    private val onChunk = object : ChunkCallback {
        override fun invoke(task: Pointer, data: Pointer, len: SizeT, userData: Pointer?) {
            // Copy: `data` is only valid during this call.
            val text = String(data.getByteArray(0, len.toInt()))
            chunks.add(text)
            println("  chunk: ${len.toInt()} bytes \"$text\"")
        }
    }
    private val onProgress = object : ProgressCallback {
        override fun invoke(task: Pointer, progress: Pointer, userData: Pointer?) {
            val p = Progress(progress)
            progressEvents++
            lastProgress = p
            if (p.progress % 25 == 0) {
                println("  progress: ${p.progress}% written ${p.total_bytes_written}/${p.total_bytes_expected_to_write}, " +
                    "sent ${p.total_bytes_sent}/${p.total_bytes_expected_to_send}")
            }
        }
    }
    private val onComplete = object : CompleteCallback {
        override fun invoke(task: Pointer, result: Pointer, userData: Pointer?) {
            val r = Result(result)
            val profile = Profile(r.profile!!)
            listenerThread = Thread.currentThread().name
            code = r.code
            errMsg = r.err_msg ?: ""
            status = r.status_code
            body = r.body()
            cookies = r.cookieList()
            println("  complete: ${lib.nettask_code_name(r.code)} \"$errMsg\" status ${r.status_code}, " +
                "${r.data_length} bytes, ${profile.protocol} in ${profile.total_us} us")
            done.countDown()
        }
    }

    init {
        val opts = RequestOptions()
        check(lib.nettask_request_options_init_version(opts, RequestOptions.VERSION) == 0) { lib.nettask_last_error() ?: "" }
        opts.configure()
        val out = PointerByReference()
        val rc = when (kind) {
            Kind.REQUEST -> lib.nettask_request_create(client, opts, out)
            Kind.DOWNLOAD -> lib.nettask_download_create(client, opts, out)
            Kind.UPLOAD -> lib.nettask_upload_create(client, opts, out)
        }
        check(rc == 0) { "create: ${lib.nettask_code_name(rc)}: ${lib.nettask_last_error()}" }
        handle = out.value
        // Keep the event thread attached to the JVM between callbacks (as a
        // daemon): attaching and detaching it for every chunk is costly.
        val attached = CallbackThreadInitializer(true, false, "nettask-event")
        listOf(onHeaders, onChunk, onProgress, onComplete).forEach {
            Native.setCallbackThreadInitializer(it, attached)
        }
        lib.nettask_on_headers_received(handle, onHeaders, null)
        lib.nettask_on_chunk_received(handle, onChunk, null)
        lib.nettask_on_progress_update(handle, onProgress, null)
        lib.nettask_on_complete(handle, onComplete, null)
    }

    fun start(): Task {
        check(lib.nettask_start(handle) == 0) { "start: ${lib.nettask_last_error()}" }
        return this
    }

    /** Waits for the completion, then drops our reference. */
    fun await(): Task {
        check(done.await(20, TimeUnit.SECONDS)) { "no completion" }
        lib.nettask_release(handle)
        return this
    }

    fun codeName(): String = lib.nettask_code_name(code)
}

fun expect(ok: Boolean, what: String) {
    if (!ok) {
        System.err.println("FAILED: $what")
        exitProcess(1)
    }
}

fun main(args: Array<String>) {
    if (args.size != 1) {
        System.err.println("usage: Demo BASE_URL")
        exitProcess(2)
    }
    val base = args[0]
    println(lib.nettask_version())
    val options = ClientOptions()
    expect(lib.nettask_client_options_init_version(options, ClientOptions.VERSION) == 0, "client options")
    options.enable_cookies = 1
    val out = PointerByReference()
    expect(lib.nettask_client_new(options, out) == 0, "client: ${lib.nettask_last_error()}")
    val client = out.value

    println("request with headers and chunk listeners: $base/stream")
    val stream = Task(client, {
        url = "$base/stream?n=3&size=4&delay_ms=50"
        enable_chunked = 1
    }).start().await()
    expect(stream.codeName() == "NETTASK_OK" && stream.errMsg == "request:ok", "stream result")
    expect(stream.chunks.joinToString("") == "aaaabbbbcccc", "chunks in order: ${stream.chunks}")
    expect(stream.headers.isNotEmpty(), "headers listener")
    expect(stream.listenerThread == "nettask-event", "listeners on the client's thread: ${stream.listenerThread}")

    println("POST with a body: $base/echo")
    val payload = "{\"from\":\"kotlin\"}".toByteArray()
    val mem = com.sun.jna.Memory(payload.size.toLong()).apply { write(0, payload, 0, payload.size) }
    val post = Task(client, {
        url = "$base/echo"
        method = "POST"
        body = mem
        body_len = SizeT(payload.size.toLong())
    }).start().await()
    expect(post.status == 200 && String(post.body) == String(payload), "echoed body")

    val file = File.createTempFile("nettask-jvm", ".bin")
    println("download with progress: $base/bytes/4194304 -> $file")
    val download = Task(client, {
        url = "$base/bytes/4194304"
        file_path = file.path
    }, Kind.DOWNLOAD).start().await()
    expect(download.errMsg == "downloadFile:ok", "download result")
    expect(file.length() == 4194304L, "file size ${file.length()}")
    expect(download.progressEvents in 1..110, "progress events ${download.progressEvents}")
    file.delete()

    val photo = File.createTempFile("nettask-jvm-photo", ".jpg")
    photo.writeBytes(ByteArray(1 shl 20) { (it % 251).toByte() })
    println("upload with progress: $photo -> $base/echo")
    val upload = Task(client, {
        url = "$base/echo"
        upload_file_path = photo.path
        upload_name = "photo"
    }, Kind.UPLOAD).start().await()
    expect(upload.errMsg == "uploadFile:ok" && upload.status == 200, "upload result ${upload.errMsg}")
    val form = String(upload.body, Charsets.ISO_8859_1)
    expect(form.contains("name=\"photo\"; filename=\"${photo.name}\""), "the file part")
    val sent = upload.lastProgress
    expect(sent != null && sent.progress == 100 && sent.total_bytes_sent == sent.total_bytes_expected_to_send &&
        sent.total_bytes_sent == upload.body.size.toLong(), "upload progress")
    photo.delete()

    println("cookies: $base/cookies/set?lang=kotlin sets one on a 302, the jar sends it on")
    val login = Task(client, { url = "$base/cookies/set?lang=kotlin" }).start().await()
    expect(String(login.body) == "lang=kotlin", "the cookie sent after the redirect: ${String(login.body)}")
    val tagged = Task(client, { url = "$base/set-cookie?c=a%3D1&c=b%3D2" }).start().await()
    expect(tagged.cookies == listOf("a=1", "b=2"), "res.cookies ${tagged.cookies}")
    val jarOut = PointerByReference()
    expect(lib.nettask_client_cookies(client, jarOut) == 0, "read the jar")
    val jar = jarOut.value.getString(0)
    lib.nettask_string_free(jarOut.value)
    expect(jar.lines().any { it.endsWith("\tlang\tkotlin") }, "the jar: $jar")
    expect(lib.nettask_client_clear_cookies(client) == 0, "clear the jar")

    println("abort from another thread: $base/stall")
    val stalled = Task(client, { url = "$base/stall" }).start()
    Thread {
        Thread.sleep(200)
        lib.nettask_abort(stalled.handle)
    }.start()
    stalled.await()
    expect(stalled.codeName() == "NETTASK_E_ABORTED" && stalled.errMsg == "request:fail abort", "abort")

    expect(lib.nettask_client_free(client) == 0, "client free")
    println("jvm demo: ok")
}
