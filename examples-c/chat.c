/*
 * chat.c: stream a chat answer sent as server-sent events, printing each
 * event's text as it arrives (the stream may cut Chinese characters
 * anywhere; nettask's SSE parser hands over whole events).
 *
 *   usage: chat URL
 *
 * No whole-task deadline (a chat answer can take minutes); an idle timeout
 * of 30 s ends a stream that stalls. Ctrl-C aborts.
 */
#include <nettask.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1; /* nettask_abort is called from main, not from here */
}

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  int events;
  nettask_code code;
} state;

static void on_event(nettask_task *task, const nettask_sse_event *e, void *user_data) {
  (void)task;
  state *s = user_data;
  s->events++; /* listeners of one task run one at a time, on one thread */
  printf("[%s #%s] %.*s\n", e->type, e->last_event_id, (int)e->data_len, (const char *)e->data);
  fflush(stdout);
}

static void on_complete(nettask_task *task, const nettask_result *r, void *user_data) {
  (void)task;
  state *s = user_data;
  printf("%s (HTTP %d, %d events)\n", r->err_msg, r->status_code, s->events);
  pthread_mutex_lock(&s->mutex);
  s->done = 1;
  s->code = r->code;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s URL\n", argv[0]);
    return 2;
  }
  signal(SIGINT, on_sigint);

  static const nettask_header accept = {"Accept", "text/event-stream"};
  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = argv[1];
  opts.headers = &accept;
  opts.header_count = 1;
  opts.timeout_ms = NETTASK_TIMEOUT_NONE;
  opts.idle_timeout_ms = 30000;
  opts.enable_chunked = true; /* the events are all we keep */

  nettask_task *task = NULL;
  nettask_code code = nettask_request_create(nettask_client_default(), &opts, &task);
  if (code != NETTASK_OK) {
    fprintf(stderr, "%s: %s\n", nettask_code_name(code), nettask_last_error());
    return 2;
  }
  state s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NETTASK_OK};
  nettask_on_sse_event(task, on_event, &s); /* before start: every event */
  nettask_on_complete(task, on_complete, &s);
  nettask_start(task);

  /* Wake every 100 ms to notice Ctrl-C. */
  pthread_mutex_lock(&s.mutex);
  while (!s.done) {
    if (interrupted) {
      interrupted = 0;
      pthread_mutex_unlock(&s.mutex);
      nettask_abort(task); /* thread-safe, never blocks */
      pthread_mutex_lock(&s.mutex);
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec += 1;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&s.cond, &s.mutex, &until);
  }
  pthread_mutex_unlock(&s.mutex);
  nettask_release(task);
  return s.code == NETTASK_OK ? 0 : 1;
}
