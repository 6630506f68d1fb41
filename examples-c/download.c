/*
 * download.c: download a URL to a file with a terminal progress bar.
 *
 *   usage: download URL FILE
 *
 * The body streams to a temporary file beside FILE that replaces FILE only
 * when the download succeeded. Ctrl-C aborts cleanly: the temporary file is
 * removed and an existing FILE is left as it was.
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
  nettask_code code;
  struct timespec started;
} state;

static double seconds_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(nettask_task *task, const nettask_progress *p, void *user_data) {
  (void)task;
  state *s = user_data;
  double mib = (double)p->total_bytes_written / (1024.0 * 1024.0);
  double elapsed = seconds_since(&s->started);
  double rate = elapsed > 0 ? mib / elapsed : 0;
  if (p->total_bytes_expected_to_write >= 0) {
    char bar[31];
    int filled = (int)(p->progress * 30 / 100);
    for (int i = 0; i < 30; i++)
      bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %3u%%  %.1f / %.1f MiB  %.1f MiB/s ", bar, p->progress, mib,
            (double)p->total_bytes_expected_to_write / (1024.0 * 1024.0), rate);
  } else {
    fprintf(stderr, "\r%.1f MiB  %.1f MiB/s ", mib, rate); /* length unknown */
  }
}

static void on_complete(nettask_task *task, const nettask_result *r, void *user_data) {
  (void)task;
  state *s = user_data;
  fprintf(stderr, "\n");
  if (r->code == NETTASK_OK)
    printf("saved %llu bytes (HTTP %d) to %s\n", (unsigned long long)r->data_length, r->status_code,
           r->file_path);
  else
    printf("%s: %s\n", nettask_code_name(r->code), r->err_msg);
  pthread_mutex_lock(&s->mutex);
  s->done = 1;
  s->code = r->code;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s URL FILE\n", argv[0]);
    return 2;
  }
  signal(SIGINT, on_sigint);

  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = argv[1];
  opts.file_path = argv[2];
  opts.timeout_ms = 600000;
  opts.idle_timeout_ms = 30000;

  nettask_task *task = NULL;
  nettask_code code = nettask_download_create(nettask_client_default(), &opts, &task);
  if (code != NETTASK_OK) {
    fprintf(stderr, "%s: %s\n", nettask_code_name(code), nettask_last_error());
    return 2;
  }
  state s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NETTASK_OK, {0, 0}};
  clock_gettime(CLOCK_MONOTONIC, &s.started);
  nettask_on_progress_update(task, on_progress, &s);
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
