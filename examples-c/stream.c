/*
 * stream.c: a server-sent event stream, printed as it arrives, then
 * aborted from another thread when a deadline passes.
 *
 *   usage: stream URL [SECONDS]     (default 1.5 seconds)
 *   e.g.   stream http://127.0.0.1:8080/events
 *
 * With enable_chunked the body is not collected: each piece libcurl reads
 * goes to the chunk listener at once. Pieces do not follow event
 * boundaries, so the listener buffers until a blank line ends an event.
 * Exits 0 when at least one event arrived and the abort ended the task
 * ("request:fail abort").
 */
#include <nettask.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Listener state. Listeners of one client all run on its event thread, one
 * at a time, so `pending` needs no lock; `done` and `code` are read by main
 * and are guarded by the mutex. */
typedef struct {
  char pending[4096];
  size_t pending_len;
  int events;
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  nettask_code code;
} stream_state;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double started_at;

static void on_headers(nettask_task *task, const nettask_response_head *head, void *user_data) {
  (void)task;
  (void)user_data;
  const char *type = "?";
  for (size_t i = 0; i < head->header_count; i++)
    if (strcmp(head->headers[i].name, "content-type") == 0)
      type = head->headers[i].value;
  printf("[%6.3f s] HTTP/%s %d, %s\n", now_s() - started_at, head->http_version,
         head->status_code, type);
}

/* Prints the "data:" lines of one complete event. */
static void print_event(stream_state *s, char *event) {
  s->events++;
  for (char *line = strtok(event, "\n"); line; line = strtok(NULL, "\n"))
    if (strncmp(line, "data:", 5) == 0)
      printf("[%6.3f s] event %d: %s\n", now_s() - started_at, s->events, line + 5 + (line[5] == ' '));
  fflush(stdout);
}

static void on_chunk(nettask_task *task, const uint8_t *data, size_t len, void *user_data) {
  (void)task;
  stream_state *s = user_data;
  /* `data` is only valid during this call: copy what is kept. */
  if (len > sizeof s->pending - 1 - s->pending_len)
    len = sizeof s->pending - 1 - s->pending_len; /* an event too big for this demo: cut */
  memcpy(s->pending + s->pending_len, data, len);
  s->pending_len += len;
  s->pending[s->pending_len] = '\0';
  char *end;
  while ((end = strstr(s->pending, "\n\n")) != NULL) {
    *end = '\0';
    print_event(s, s->pending);
    size_t used = (size_t)(end + 2 - s->pending);
    memmove(s->pending, end + 2, s->pending_len - used + 1);
    s->pending_len -= used;
  }
}

static void on_complete(nettask_task *task, const nettask_result *result, void *user_data) {
  (void)task;
  stream_state *s = user_data;
  printf("[%6.3f s] complete: %s \"%s\"\n", now_s() - started_at, nettask_code_name(result->code),
         result->err_msg);
  pthread_mutex_lock(&s->mutex);
  s->done = 1;
  s->code = result->code;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

typedef struct {
  nettask_task *task;
  double seconds;
} deadline;

/* nettask_abort may be called from any thread; it never blocks. */
static void *abort_at_deadline(void *arg) {
  deadline *d = arg;
  struct timespec ts = {(time_t)d->seconds, (long)((d->seconds - (time_t)d->seconds) * 1e9)};
  nanosleep(&ts, NULL);
  printf("[%6.3f s] deadline: aborting\n", now_s() - started_at);
  nettask_abort(d->task);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s URL [SECONDS]\n", argv[0]);
    return 2;
  }
  deadline d = {NULL, argc == 3 ? atof(argv[2]) : 1.5};
  nettask_client *client = nettask_client_default();
  if (!client) {
    fprintf(stderr, "client: %s\n", nettask_last_error());
    return 1;
  }

  nettask_header accept = {"Accept", "text/event-stream"};
  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = argv[1];
  opts.headers = &accept;
  opts.header_count = 1;
  opts.enable_chunked = true;
  opts.timeout_ms = 600000;    /* a long whole-task limit for a stream... */
  opts.idle_timeout_ms = 5000; /* ...but a silent one is given up on soon */

  nettask_task *task = NULL;
  if (nettask_request_create(client, &opts, &task) != NETTASK_OK) {
    fprintf(stderr, "create: %s\n", nettask_last_error());
    return 1;
  }
  stream_state s = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
  nettask_on_headers_received(task, on_headers, NULL);
  nettask_on_chunk_received(task, on_chunk, &s);
  nettask_on_complete(task, on_complete, &s);

  started_at = now_s();
  if (nettask_start(task) != NETTASK_OK) {
    fprintf(stderr, "start: %s\n", nettask_last_error());
    nettask_release(task);
    return 1;
  }
  d.task = task;
  pthread_t aborter;
  pthread_create(&aborter, NULL, abort_at_deadline, &d);

  pthread_mutex_lock(&s.mutex);
  while (!s.done)
    pthread_cond_wait(&s.cond, &s.mutex);
  pthread_mutex_unlock(&s.mutex);
  pthread_join(aborter, NULL);
  nettask_release(task);

  /* After the completion no listener runs again, so reading s is safe. */
  printf("%d events before the abort\n", s.events);
  return s.events > 0 && s.code == NETTASK_E_ABORTED ? 0 : 1;
}
