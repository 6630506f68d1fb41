/*
 * cookies.c: a session cookie that survives a restart.
 *
 *   usage: cookies BASE_URL JAR_FILE
 *
 * A client with a cookie jar kept in JAR_FILE logs in: BASE_URL/cookies/set
 * answers 302 with Set-Cookie headers and sends it on to BASE_URL/cookies,
 * which echoes the Cookie header it received. The client is freed (which
 * saves the jar) and a new one, as after an app restart, loads the jar and
 * is still logged in.
 */
#include <nettask.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  nettask_code code;
  char seen[512]; /* the Cookie header the server saw */
} state;

static void on_headers(nettask_task *task, const nettask_response_head *head, void *user_data) {
  (void)task;
  (void)user_data;
  /* wx's res.cookies: the final response's Set-Cookie values. */
  for (size_t i = 0; i < head->cookie_count; i++)
    printf("  Set-Cookie: %s\n", head->cookies[i]);
}

static void on_complete(nettask_task *task, const nettask_result *r, void *user_data) {
  (void)task;
  state *s = user_data;
  if (r->code == NETTASK_OK) {
    snprintf(s->seen, sizeof s->seen, "%.*s", (int)r->data_len, (const char *)r->data);
    printf("  HTTP %d, the server saw Cookie: \"%s\"\n", r->status_code, s->seen);
  } else
    printf("  %s: %s\n", nettask_code_name(r->code), r->err_msg);
  pthread_mutex_lock(&s->mutex);
  s->done = 1;
  s->code = r->code;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

/* GETs base + path and waits for the completion; `seen` gets the Cookie
 * header the server saw. */
static int get(nettask_client *client, const char *base, const char *path, char seen[512]) {
  char url[1024];
  snprintf(url, sizeof url, "%s%s", base, path);
  printf("GET %s\n", url);
  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = url;
  nettask_task *task = NULL;
  if (nettask_request_create(client, &opts, &task) != NETTASK_OK) {
    fprintf(stderr, "create: %s\n", nettask_last_error());
    return 1;
  }
  state s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NETTASK_OK, ""};
  nettask_on_headers_received(task, on_headers, &s);
  nettask_on_complete(task, on_complete, &s);
  if (nettask_start(task) != NETTASK_OK) {
    fprintf(stderr, "start: %s\n", nettask_last_error());
    nettask_release(task);
    return 1;
  }
  pthread_mutex_lock(&s.mutex);
  while (!s.done)
    pthread_cond_wait(&s.cond, &s.mutex);
  pthread_mutex_unlock(&s.mutex);
  nettask_release(task);
  memcpy(seen, s.seen, sizeof s.seen);
  return s.code != NETTASK_OK;
}

static nettask_client *open_client(const char *jar_file) {
  nettask_client_options opts;
  nettask_client_options_init(&opts);
  opts.enable_cookies = true;
  opts.cookie_file = jar_file;
  nettask_client *client = NULL;
  if (nettask_client_new(&opts, &client) != NETTASK_OK)
    fprintf(stderr, "client: %s\n", nettask_last_error());
  return client;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s BASE_URL JAR_FILE\n", argv[0]);
    return 2;
  }
  const char *base = argv[1], *jar_file = argv[2];
  int failed = 0;
  char seen[512];

  printf("-- first run: log in\n");
  nettask_client *client = open_client(jar_file);
  if (!client)
    return 1;
  failed |= get(client, base, "/cookies", seen);
  failed |= get(client, base, "/cookies/set?session=demo-42&theme=dark", seen);
  char *jar = NULL;
  if (nettask_client_cookies(client, &jar) == NETTASK_OK) {
    printf("the jar, in Netscape format:\n%s", jar);
    nettask_string_free(jar);
  }
  if (nettask_client_free(client) != NETTASK_OK) { /* saves the jar */
    fprintf(stderr, "free: %s\n", nettask_last_error());
    failed = 1;
  }

  printf("-- after a restart: the jar is loaded from %s\n", jar_file);
  client = open_client(jar_file);
  if (!client)
    return 1;
  failed |= get(client, base, "/cookies", seen);
  if (!strstr(seen, "session=demo-42")) {
    fprintf(stderr, "the session cookie did not survive the restart\n");
    failed = 1;
  }
  if (nettask_client_free(client) != NETTASK_OK)
    failed = 1;
  return failed;
}
