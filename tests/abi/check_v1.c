/*
 * check_v1.c: a program built against the frozen version-1 header
 * (tests/abi/nettask_v1.h), run with the current library, the way an app
 * built against the first release meets a newer one. `make test` runs it
 * plain, under valgrind memcheck and with AddressSanitizer + UBSan.
 *
 *   usage: check_v1 BASE_URL     (the loopback test server)
 *
 * Checks that the version-1 fields sit where they did, that the _init
 * functions write no byte past a version-1 struct, that a request (GET and
 * POST), a download and the client options work, that the result, profile
 * and progress structs read as version 1 describes them, and that unknown
 * struct versions (0, the library's current + 1) are refused with a
 * sentence naming both versions. Exits 0 on success.
 *
 * NETTASK_CURRENT_CLIENT_OPTIONS_VERSION and
 * NETTASK_CURRENT_REQUEST_OPTIONS_VERSION are the versions of the current
 * header, passed by the Makefile.
 */
#include "nettask_v1.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fields_v1.h"

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,        \
              __LINE__, #cond, nettask_last_error() ? nettask_last_error() : "none"); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

extern const abi_field abi_current_v1_fields[];
extern const size_t abi_current_v1_field_count;

static const char *base;

static const char *url(const char *path) {
  static char buf[4][512];
  static int next;
  char *out = buf[next++ % 4];
  snprintf(out, sizeof buf[0], "%s%s", base, path);
  return out;
}

/* --- layout ------------------------------------------------------------ */

static void same_layout(void) {
  static const abi_field v1[] = {NETTASK_V1_FIELDS(ABI_FIELD)};
  size_t n = sizeof v1 / sizeof v1[0];
  CHECK(n == abi_current_v1_field_count);
  for (size_t i = 0; i < n; i++) {
    const abi_field *now = &abi_current_v1_fields[i];
    if (v1[i].offset != now->offset || v1[i].size != now->size) {
      fprintf(stderr, "%s moved: version 1 has offset %zu size %zu, the current header %zu/%zu\n",
              v1[i].name, v1[i].offset, v1[i].size, now->offset, now->size);
      exit(1);
    }
  }
}

/* --- _init writes exactly a version-1 struct --------------------------- */

static int untouched(const unsigned char *guard, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (guard[i] != 0xA5)
      return 0;
  return 1;
}

static void init_stays_inside(void) {
  struct {
    nettask_request_options o;
    unsigned char guard[64];
  } r;
  memset(&r, 0xA5, sizeof r);
  nettask_request_options_init(&r.o);
  CHECK(untouched(r.guard, sizeof r.guard));
  CHECK(r.o.version == 1);
  CHECK(r.o.url == NULL && r.o.method == NULL && r.o.headers == NULL && r.o.body == NULL);
  CHECK(r.o.follow_redirects && r.o.max_redirects == 15 && r.o.enable_http2);
  CHECK(!r.o.enable_chunked && !r.o.http2_prior_knowledge && r.o.timeout_ms == 0);

  struct {
    nettask_client_options o;
    unsigned char guard[64];
  } c;
  memset(&c, 0xA5, sizeof c);
  nettask_client_options_init(&c.o);
  CHECK(untouched(c.guard, sizeof c.guard));
  CHECK(c.o.version == 1 && c.o.user_agent == NULL && c.o.max_concurrent_tasks == 0);

  /* Exactly sized on the heap, for AddressSanitizer and valgrind. */
  nettask_request_options *heap_r = malloc(sizeof *heap_r);
  nettask_client_options *heap_c = malloc(sizeof *heap_c);
  CHECK(heap_r && heap_c);
  nettask_request_options_init(heap_r);
  nettask_client_options_init(heap_c);
  CHECK(heap_r->version == 1 && heap_c->version == 1);
  free(heap_r);
  free(heap_c);
}

/* --- one task, recorded ------------------------------------------------ */

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  int headers;
  int status_in_head;
  char version_in_head[8];
  int progress_events;
  int progress_went_back;
  nettask_progress last_progress;
  /* Copies of the result. */
  nettask_code code;
  char err_msg[256];
  int status;
  size_t header_count;
  char body[4096];
  size_t body_len;
  uint64_t data_length;
  char file_path[512];
  nettask_profile profile;
  char peer_ip[64];
  char protocol[16];
} record;

static void record_init(record *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mutex, NULL);
  pthread_cond_init(&r->cond, NULL);
}

static void record_destroy(record *r) {
  pthread_mutex_destroy(&r->mutex);
  pthread_cond_destroy(&r->cond);
}

static void on_headers(nettask_task *task, const nettask_response_head *head, void *ud) {
  (void)task;
  record *r = ud;
  r->headers++;
  r->status_in_head = head->status_code;
  snprintf(r->version_in_head, sizeof r->version_in_head, "%s", head->http_version);
}

static void on_progress(nettask_task *task, const nettask_progress *p, void *ud) {
  (void)task;
  record *r = ud;
  if (r->progress_events > 0 && p->total_bytes_written < r->last_progress.total_bytes_written)
    r->progress_went_back = 1;
  r->progress_events++;
  r->last_progress = *p;
}

static void on_complete(nettask_task *task, const nettask_result *res, void *ud) {
  (void)task;
  record *r = ud;
  pthread_mutex_lock(&r->mutex);
  r->code = res->code;
  snprintf(r->err_msg, sizeof r->err_msg, "%s", res->err_msg);
  r->status = res->status_code;
  r->header_count = res->header_count;
  for (size_t i = 0; i < res->header_count; i++)
    CHECK(res->headers[i].name != NULL && res->headers[i].value != NULL);
  r->body_len = res->data_len;
  if (res->data_len > 0 && res->data_len < sizeof r->body)
    memcpy(r->body, res->data, res->data_len);
  r->data_length = res->data_length;
  if (res->file_path)
    snprintf(r->file_path, sizeof r->file_path, "%s", res->file_path);
  CHECK(res->profile != NULL);
  r->profile = *res->profile;
  snprintf(r->peer_ip, sizeof r->peer_ip, "%s", res->profile->peer_ip);
  snprintf(r->protocol, sizeof r->protocol, "%s", res->profile->protocol);
  r->done++;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->mutex);
}

static void run(nettask_client *c, const nettask_request_options *o, int download, record *r) {
  nettask_task *task = NULL;
  nettask_code code = download ? nettask_download_create(c, o, &task) : nettask_request_create(c, o, &task);
  CHECK(code == NETTASK_OK && task != NULL);
  CHECK(nettask_on_headers_received(task, on_headers, r) == NETTASK_OK);
  CHECK(nettask_on_progress_update(task, on_progress, r) == NETTASK_OK);
  CHECK(nettask_on_complete(task, on_complete, r) == NETTASK_OK);
  CHECK(nettask_start(task) == NETTASK_OK);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  pthread_mutex_lock(&r->mutex);
  while (r->done == 0)
    CHECK(pthread_cond_timedwait(&r->cond, &r->mutex, &deadline) == 0);
  pthread_mutex_unlock(&r->mutex);
  nettask_release(task);
  CHECK(r->done == 1);
}

static void check_profile(const record *r) {
  CHECK(r->profile.total_us > 0 && r->profile.first_byte_us > 0);
  CHECK(r->profile.queued_us >= 0 && r->profile.redirect_us == -1 && r->profile.redirect_count == 0);
  CHECK(r->profile.peer_port > 0 && r->profile.local_port > 0);
  CHECK(r->profile.bytes_sent > 0 && r->profile.bytes_received > 0);
  CHECK(strcmp(r->peer_ip, "127.0.0.1") == 0);
  CHECK(strcmp(r->protocol, "http/1.1") == 0);
}

/* --- requests, a download, client options ------------------------------ */

static void requests_and_a_download(void) {
  nettask_client_options co;
  nettask_client_options_init(&co);
  co.user_agent = "nettask-v1-program/1";
  co.max_concurrent_tasks = 2;
  co.default_timeout_ms = 20000;
  nettask_client *c = NULL;
  CHECK(nettask_client_new(&co, &c) == NETTASK_OK && c != NULL);

  nettask_request_options o;
  nettask_request_options_init(&o);
  o.url = url("/headers");
  record get;
  record_init(&get);
  run(c, &o, 0, &get);
  CHECK(get.code == NETTASK_OK && strcmp(get.err_msg, "request:ok") == 0);
  CHECK(get.status == 200 && get.headers == 1 && get.status_in_head == 200);
  CHECK(strcmp(get.version_in_head, "1.1") == 0);
  CHECK(get.header_count > 0 && get.body_len > 0 && get.data_length == get.body_len);
  CHECK(strstr(get.body, "user-agent: nettask-v1-program/1") != NULL);
  CHECK(get.progress_events == 0); /* progress is for downloads */
  check_profile(&get);
  record_destroy(&get);

  nettask_header h[] = {{"X-From", "v1"}};
  nettask_request_options_init(&o);
  o.url = url("/echo");
  o.method = "POST";
  o.headers = h;
  o.header_count = 1;
  o.body = (const uint8_t *)"hello, v1";
  o.body_len = 9;
  record post;
  record_init(&post);
  run(c, &o, 0, &post);
  CHECK(post.code == NETTASK_OK && post.status == 200);
  CHECK(post.body_len == 9 && memcmp(post.body, "hello, v1", 9) == 0);
  record_destroy(&post);

  enum { SIZE = 1 << 20 };
  char dir[] = "/tmp/nettask-v1-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/file.bin", dir);
  char bytes_path[64];
  snprintf(bytes_path, sizeof bytes_path, "/bytes/%d", SIZE);
  nettask_request_options_init(&o);
  o.url = url(bytes_path);
  o.file_path = path;
  record dl;
  record_init(&dl);
  run(c, &o, 1, &dl);
  CHECK(dl.code == NETTASK_OK && strcmp(dl.err_msg, "downloadFile:ok") == 0);
  CHECK(dl.status == 200 && dl.data_length == SIZE && dl.body_len == 0);
  CHECK(strcmp(dl.file_path, path) == 0);
  CHECK(dl.progress_events > 0 && !dl.progress_went_back);
  CHECK(dl.last_progress.progress == 100 && dl.last_progress.total_bytes_written == SIZE);
  CHECK(dl.last_progress.total_bytes_expected_to_write == SIZE);
  check_profile(&dl);
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  long i = 0;
  for (int ch; (ch = fgetc(f)) != EOF; i++)
    CHECK(ch == (int)(i % 251));
  fclose(f);
  CHECK(i == SIZE);
  CHECK(unlink(path) == 0 && rmdir(dir) == 0);
  record_destroy(&dl);

  CHECK(nettask_client_free(c) == NETTASK_OK);
}

/* --- unknown versions -------------------------------------------------- */

static void names_both(unsigned theirs, unsigned ours) {
  char a[64], b[64];
  snprintf(a, sizeof a, "version is %u", theirs);
  snprintf(b, sizeof b, "1 to %u", ours);
  const char *e = nettask_last_error();
  CHECK(e != NULL && strstr(e, a) != NULL && strstr(e, b) != NULL);
}

static void unknown_versions_are_refused(void) {
  nettask_client *c = NULL;
  CHECK(nettask_client_new(NULL, &c) == NETTASK_OK);
  unsigned request_bad[] = {0, NETTASK_CURRENT_REQUEST_OPTIONS_VERSION + 1};
  for (int i = 0; i < 2; i++) {
    nettask_request_options o;
    nettask_request_options_init(&o);
    o.url = url("/hello");
    o.version = request_bad[i];
    nettask_task *task = (nettask_task *)&o; /* must be reset to NULL */
    CHECK(nettask_request_create(c, &o, &task) == NETTASK_E_INVALID_ARGUMENT);
    CHECK(task == NULL);
    names_both(request_bad[i], NETTASK_CURRENT_REQUEST_OPTIONS_VERSION);
  }
  unsigned client_bad[] = {0, NETTASK_CURRENT_CLIENT_OPTIONS_VERSION + 1};
  for (int i = 0; i < 2; i++) {
    nettask_client_options co;
    nettask_client_options_init(&co);
    co.version = client_bad[i];
    nettask_client *other = NULL;
    CHECK(nettask_client_new(&co, &other) == NETTASK_E_INVALID_ARGUMENT);
    CHECK(other == NULL);
    names_both(client_bad[i], NETTASK_CURRENT_CLIENT_OPTIONS_VERSION);
  }
  CHECK(nettask_client_free(c) == NETTASK_OK);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
    return 2;
  }
  base = argv[1];
  same_layout();
  init_stays_inside();
  requests_and_a_download();
  unknown_versions_are_refused();
  printf("version-1 program against %s: ok\n", nettask_version());
  return 0;
}
