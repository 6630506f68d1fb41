/*
 * upload.c: upload a file as a multipart form (wx.uploadFile) with a
 * terminal progress bar, and print the server's answer.
 *
 *   usage: upload URL FILE [NAME=VALUE ...]
 *
 * The form holds the NAME=VALUE text fields in order, then FILE as the part
 * "file" (its base name as filename). The file streams from disk as it is
 * sent. Ctrl-C aborts at once.
 */
#include <nettask.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  double mib = (double)p->total_bytes_sent / (1024.0 * 1024.0);
  double total = (double)p->total_bytes_expected_to_send / (1024.0 * 1024.0);
  double elapsed = seconds_since(&s->started);
  char bar[31];
  int filled = (int)(p->progress * 30 / 100);
  for (int i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[30] = '\0';
  fprintf(stderr, "\r[%s] %3u%%  %.1f / %.1f MiB  %.1f MiB/s ", bar, p->progress, mib, total,
          elapsed > 0 ? mib / elapsed : 0);
}

static void on_complete(nettask_task *task, const nettask_result *r, void *user_data) {
  (void)task;
  state *s = user_data;
  fprintf(stderr, "\n");
  if (r->code == NETTASK_OK)
    printf("%s: HTTP %d, the server answered %.*s\n", r->err_msg, r->status_code, (int)r->data_len,
           (const char *)r->data);
  else
    printf("%s: %s\n", nettask_code_name(r->code), r->err_msg);
  pthread_mutex_lock(&s->mutex);
  s->done = 1;
  s->code = r->code;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s URL FILE [NAME=VALUE ...]\n", argv[0]);
    return 2;
  }
  signal(SIGINT, on_sigint);

  /* The text fields: split NAME=VALUE in place. */
  int field_count = argc - 3;
  nettask_header *fields = calloc(field_count > 0 ? (size_t)field_count : 1, sizeof *fields);
  if (!fields)
    return 2;
  for (int i = 0; i < field_count; i++) {
    char *eq = strchr(argv[3 + i], '=');
    if (!eq) {
      fprintf(stderr, "a field is NAME=VALUE, not %s\n", argv[3 + i]);
      return 2;
    }
    *eq = '\0';
    fields[i].name = argv[3 + i];
    fields[i].value = eq + 1;
  }

  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = argv[1];
  opts.upload_file_path = argv[2];
  opts.upload_name = "file";
  opts.form_fields = fields;
  opts.form_field_count = (size_t)field_count;
  opts.timeout_ms = 600000;

  nettask_task *task = NULL;
  nettask_code code = nettask_upload_create(nettask_client_default(), &opts, &task);
  free(fields); /* create copied everything */
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
