/*
 * lifecycle.c: the task and client life cycle from C, for memory checkers.
 * CI runs it under valgrind memcheck and built with
 * -fsanitize=address,undefined; both must report nothing.
 *
 *   usage: lifecycle BASE_URL     (the loopback test server)
 *
 * Covers create/start/abort/release/free in every order, listeners added
 * and removed from inside listeners, release from inside the complete
 * listener, client free from its own listener (refused), a download
 * aborted midway, bad input, and a client freed with tasks in flight.
 * Every started task must complete exactly once. Exits 0 on success.
 */
#include <nettask.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,        \
              __LINE__, #cond, nettask_last_error() ? nettask_last_error() : "none"); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

static const char *base;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static const char *url(const char *path) {
  static char buf[16][512];
  static int next;
  char *out = buf[next++ % 16];
  snprintf(out, sizeof buf[0], "%s%s", base, path);
  return out;
}

/* Counts completions of a group of tasks; main waits for all of them. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int completed;
  int twice; /* a task that completed again: must stay 0 */
  int by_code[32];
  int chunks;
  int headers;
  int progress;
} tally;

static void tally_init(tally *t) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->mutex, NULL);
  pthread_cond_init(&t->cond, NULL);
}

static void tally_wait(tally *t, int n) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  pthread_mutex_lock(&t->mutex);
  while (t->completed < n)
    CHECK(pthread_cond_timedwait(&t->cond, &t->mutex, &deadline) == 0);
  pthread_mutex_unlock(&t->mutex);
}

static void tally_destroy(tally *t) {
  pthread_mutex_destroy(&t->mutex);
  pthread_cond_destroy(&t->cond);
}

static void count_complete(nettask_task *task, const nettask_result *r, void *ud) {
  (void)task;
  tally *t = ud;
  CHECK(r->err_msg != NULL && r->profile != NULL);
  pthread_mutex_lock(&t->mutex);
  t->completed++;
  if (r->code >= 0 && r->code < 32)
    t->by_code[r->code]++;
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->mutex);
}

static void count_chunk(nettask_task *task, const uint8_t *data, size_t len, void *ud) {
  (void)task;
  CHECK(data != NULL && len > 0);
  tally *t = ud;
  pthread_mutex_lock(&t->mutex);
  t->chunks++;
  pthread_mutex_unlock(&t->mutex);
}

static nettask_task *request(nettask_client *c, const char *u, int chunked) {
  nettask_request_options o;
  nettask_request_options_init(&o);
  o.url = u;
  o.enable_chunked = chunked;
  nettask_task *task = NULL;
  CHECK(nettask_request_create(c, &o, &task) == NETTASK_OK && task);
  return task;
}

/* --- create, start, abort, release in every order ---------------------- */

static void orders(nettask_client *c) {
  tally t;
  tally_init(&t);

  /* Created and released, never started: no completion. */
  nettask_release(request(c, url("/hello"), 0));

  /* Aborted before start: start completes it as aborted. */
  nettask_task *a = request(c, url("/hello"), 0);
  nettask_on_complete(a, count_complete, &t);
  CHECK(nettask_abort(a) == NETTASK_OK);
  CHECK(nettask_start(a) == NETTASK_OK);
  tally_wait(&t, 1);
  CHECK(t.by_code[NETTASK_E_ABORTED] == 1);
  CHECK(nettask_start(a) == NETTASK_E_INVALID_STATE);
  CHECK(nettask_abort(a) == NETTASK_OK); /* after completion: nothing */
  nettask_release(a);

  /* Started, then released at once: it still runs and completes. */
  nettask_task *b = request(c, url("/hello"), 0);
  nettask_on_complete(b, count_complete, &t);
  CHECK(nettask_start(b) == NETTASK_OK);
  CHECK(nettask_start(b) == NETTASK_E_INVALID_STATE);
  nettask_release(b);
  tally_wait(&t, 2);
  CHECK(t.by_code[NETTASK_OK] == 1);

  /* Streams aborted mid-body, twice each, then released. */
  nettask_task *s[8];
  for (int i = 0; i < 8; i++) {
    s[i] = request(c, url("/stream?n=100&delay_ms=20"), 1);
    nettask_on_chunk_received(s[i], count_chunk, &t);
    nettask_on_complete(s[i], count_complete, &t);
    CHECK(nettask_start(s[i]) == NETTASK_OK);
  }
  sleep_ms(100);
  for (int i = 0; i < 8; i++) {
    CHECK(nettask_abort(s[i]) == NETTASK_OK);
    CHECK(nettask_abort(s[i]) == NETTASK_OK);
  }
  tally_wait(&t, 10);
  CHECK(t.by_code[NETTASK_E_ABORTED] == 9);
  for (int i = 0; i < 8; i++)
    nettask_release(s[i]);
  tally_destroy(&t);
}

/* --- listeners changed from inside listeners --------------------------- */

typedef struct {
  tally t;
  int second_chunk_listener_calls;
  size_t chunk_bytes; /* seen by either chunk listener */
  nettask_client *client;
  int free_refused;
} reentry;

static void second_chunk(nettask_task *task, const uint8_t *data, size_t len, void *ud) {
  (void)task, (void)data;
  reentry *r = ud;
  r->second_chunk_listener_calls++;
  r->chunk_bytes += len;
}

/* Removes itself after its first chunk and adds another chunk listener. */
static void first_chunk_only(nettask_task *task, const uint8_t *data, size_t len, void *ud) {
  (void)data;
  reentry *r = ud;
  r->chunk_bytes += len;
  pthread_mutex_lock(&r->t.mutex);
  r->t.chunks++;
  pthread_mutex_unlock(&r->t.mutex);
  CHECK(nettask_off_chunk_received(task, first_chunk_only, ud) == NETTASK_OK);
  CHECK(nettask_on_chunk_received(task, second_chunk, ud) == NETTASK_OK);
}

static void headers_then_off_all(nettask_task *task, const nettask_response_head *h, void *ud) {
  reentry *r = ud;
  CHECK(h->status_code == 200);
  r->t.headers++;
  /* off(NULL) removes every headers listener, this one included. */
  CHECK(nettask_off_headers_received(task, NULL, NULL) == NETTASK_OK);
}

/* The last listener of the task: releases the only reference to it, and
 * tries to free its own client, which must be refused. */
static void complete_and_release(nettask_task *task, const nettask_result *res, void *ud) {
  reentry *r = ud;
  r->free_refused = nettask_client_free(r->client) == NETTASK_E_INVALID_STATE;
  nettask_release(task);
  count_complete(task, res, &r->t);
}

static void listeners_from_listeners(nettask_client *c) {
  reentry r;
  memset(&r, 0, sizeof r);
  tally_init(&r.t);
  r.client = c;
  nettask_task *task = request(c, url("/stream?n=5&delay_ms=50"), 1);
  CHECK(nettask_on_headers_received(task, headers_then_off_all, &r) == NETTASK_OK);
  CHECK(nettask_on_headers_received(task, headers_then_off_all, &r) == NETTASK_OK); /* dedupe */
  CHECK(nettask_on_chunk_received(task, first_chunk_only, &r) == NETTASK_OK);
  CHECK(nettask_on_complete(task, complete_and_release, &r) == NETTASK_OK);
  CHECK(nettask_start(task) == NETTASK_OK);
  tally_wait(&r.t, 1);
  CHECK(r.t.by_code[NETTASK_OK] == 1);
  CHECK(r.t.headers == 1);
  CHECK(r.t.chunks == 1);
  /* The server flushes 5 x 5 bytes 50 ms apart; a slow reader may get
   * some together, but every byte reaches one listener or the other. */
  CHECK(r.second_chunk_listener_calls >= 1);
  CHECK(r.chunk_bytes == 25);
  CHECK(r.free_refused);
  tally_destroy(&r.t);
}

/* --- a download aborted from its progress listener --------------------- */

static void abort_at_half(nettask_task *task, const nettask_progress *p, void *ud) {
  tally *t = ud;
  t->progress++;
  if (p->progress >= 50)
    nettask_abort(task);
}

static void download_aborted(nettask_client *c) {
  char dir[] = "/tmp/nettask-lifecycle-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/file.bin", dir);
  tally t;
  tally_init(&t);
  nettask_request_options o;
  nettask_request_options_init(&o);
  o.url = url("/bytes/8388608");
  o.file_path = path;
  nettask_task *task = NULL;
  CHECK(nettask_download_create(c, &o, &task) == NETTASK_OK);
  nettask_on_progress_update(task, abort_at_half, &t);
  nettask_on_complete(task, count_complete, &t);
  CHECK(nettask_start(task) == NETTASK_OK);
  tally_wait(&t, 1);
  CHECK(t.by_code[NETTASK_E_ABORTED] == 1);
  CHECK(t.progress >= 1);
  CHECK(access(path, F_OK) != 0);
  CHECK(rmdir(dir) == 0); /* empty: the temporary file is gone too */
  nettask_release(task);
  tally_destroy(&t);
}

/* --- bad input is refused, never crashes -------------------------------- */

static void bad_input(nettask_client *c) {
  nettask_task *task = NULL;
  CHECK(nettask_request_create(NULL, NULL, &task) == NETTASK_E_INVALID_ARGUMENT);
  CHECK(strlen(nettask_last_error()) > 0);
  CHECK(nettask_request_create(c, NULL, &task) == NETTASK_E_INVALID_ARGUMENT);
  nettask_request_options o;
  nettask_request_options_init(&o);
  o.url = "file:///etc/passwd";
  CHECK(nettask_request_create(c, &o, &task) == NETTASK_E_INVALID_ARGUMENT);
  nettask_header evil = {"X-A", "b\r\nInjected: yes"};
  o.url = url("/hello");
  o.headers = &evil;
  o.header_count = 1;
  CHECK(nettask_request_create(c, &o, &task) == NETTASK_E_INVALID_ARGUMENT);
  CHECK(task == NULL);
  CHECK(nettask_start(NULL) == NETTASK_E_INVALID_ARGUMENT);
  CHECK(nettask_abort(NULL) == NETTASK_E_INVALID_ARGUMENT);
  CHECK(nettask_on_complete(NULL, count_complete, NULL) == NETTASK_E_INVALID_ARGUMENT);
  nettask_release(NULL);
  CHECK(nettask_client_free(NULL) == NETTASK_E_INVALID_ARGUMENT);
}

/* --- client freed with tasks in flight --------------------------------- */

static void free_with_tasks_in_flight(void) {
  nettask_client_options co;
  nettask_client_options_init(&co);
  co.max_concurrent_tasks = 4; /* some run, some wait in the queue */
  nettask_client *c = NULL;
  CHECK(nettask_client_new(&co, &c) == NETTASK_OK);
  tally t;
  tally_init(&t);
  nettask_task *tasks[12];
  for (int i = 0; i < 12; i++) {
    tasks[i] = request(c, url("/stall"), 0);
    nettask_on_complete(tasks[i], count_complete, &t);
    CHECK(nettask_start(tasks[i]) == NETTASK_OK);
  }
  sleep_ms(50);
  CHECK(nettask_client_free(c) == NETTASK_OK); /* waits for every completion */
  CHECK(t.completed == 12);
  CHECK(t.by_code[NETTASK_E_SHUTDOWN] == 12);
  /* Handles stay valid until released; calls say their client is gone,
   * except abort, which is a no-op after completion. */
  CHECK(nettask_abort(tasks[0]) == NETTASK_OK);
  CHECK(nettask_start(tasks[1]) == NETTASK_E_SHUTDOWN);
  CHECK(nettask_on_complete(tasks[2], count_complete, &t) == NETTASK_E_SHUTDOWN);
  for (int i = 0; i < 12; i++)
    nettask_release(tasks[i]);
  tally_destroy(&t);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
    return 2;
  }
  base = argv[1];
  nettask_client *c = NULL;
  CHECK(nettask_client_new(NULL, &c) == NETTASK_OK);
  orders(c);
  listeners_from_listeners(c);
  download_aborted(c);
  bad_input(c);
  CHECK(nettask_client_free(c) == NETTASK_OK);
  free_with_tasks_in_flight();
  puts("lifecycle: ok");
  return 0;
}
