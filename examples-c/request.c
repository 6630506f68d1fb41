/*
 * request.c: GET and POST with nettask from C.
 *
 *   usage: request BASE_URL      (e.g. http://127.0.0.1:8080)
 *
 * Runs GET BASE_URL/hello, POST BASE_URL/echo and GET BASE_URL/status/404,
 * printing each response's head (from a headers listener) and its result
 * (from the complete listener). Exits 0 when every task succeeded.
 */
#include <nettask.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Listeners run on the client's event thread; main waits on this. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  nettask_code code;
} completion;

static void on_headers(nettask_task *task, const nettask_response_head *head, void *user_data) {
  (void)task;
  (void)user_data;
  printf("  < HTTP/%s %d\n", head->http_version, head->status_code);
  for (size_t i = 0; i < head->header_count; i++)
    printf("  < %s: %s\n", head->headers[i].name, head->headers[i].value);
}

static void on_complete(nettask_task *task, const nettask_result *result, void *user_data) {
  (void)task;
  completion *c = user_data;
  const nettask_profile *p = result->profile;
  printf("  = %s \"%s\" status %d, %zu body bytes\n", nettask_code_name(result->code), result->err_msg,
         result->status_code, result->data_len);
  if (result->data_len > 0 && result->data_len <= 64)
    printf("  = body: %.*s\n", (int)result->data_len, (const char *)result->data);
  printf("  = %s %s:%u, connected at %lld us, first byte at %lld us, done at %lld us, reused %s\n",
         p->protocol, p->peer_ip, p->peer_port, (long long)p->connect_done_us,
         (long long)p->first_byte_us, (long long)p->total_us, p->socket_reused ? "yes" : "no");
  /* All pointers in `result` die when this returns: copy what you keep. */
  pthread_mutex_lock(&c->mutex);
  c->done = 1;
  c->code = result->code;
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->mutex);
}

/* Runs one request to completion; returns its result code. */
static nettask_code run(nettask_client *client, const char *method, const char *url, const char *body) {
  nettask_header headers[] = {{"Accept", "text/plain"}, {"X-Demo", "request.c"}};
  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = url;
  opts.method = method;
  opts.headers = headers;
  opts.header_count = 2;
  opts.body = (const uint8_t *)body;
  opts.body_len = body ? strlen(body) : 0;
  opts.timeout_ms = 10000;

  nettask_task *task = NULL;
  nettask_code code = nettask_request_create(client, &opts, &task);
  if (code != NETTASK_OK) {
    fprintf(stderr, "create failed: %s: %s\n", nettask_code_name(code), nettask_last_error());
    return code;
  }
  completion c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NETTASK_OK};
  nettask_on_headers_received(task, on_headers, NULL);
  nettask_on_complete(task, on_complete, &c);

  printf("> %s %s\n", method, url);
  code = nettask_start(task);
  if (code == NETTASK_OK) {
    pthread_mutex_lock(&c.mutex);
    while (!c.done)
      pthread_cond_wait(&c.cond, &c.mutex);
    pthread_mutex_unlock(&c.mutex);
    code = c.code;
  }
  nettask_release(task);
  return code;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
    return 2;
  }
  printf("%s\n", nettask_version());

  nettask_client_options copts;
  nettask_client_options_init(&copts);
  copts.user_agent = "nettask-request-example/1.0";
  nettask_client *client = NULL;
  if (nettask_client_new(&copts, &client) != NETTASK_OK) {
    fprintf(stderr, "client: %s\n", nettask_last_error());
    return 1;
  }

  char url[512];
  int failures = 0;
  snprintf(url, sizeof url, "%s/hello", argv[1]);
  failures += run(client, "GET", url, NULL) != NETTASK_OK;
  snprintf(url, sizeof url, "%s/echo", argv[1]);
  failures += run(client, "POST", url, "{\"hello\":\"nettask\"}") != NETTASK_OK;
  snprintf(url, sizeof url, "%s/status/404", argv[1]);
  failures += run(client, "GET", url, NULL) != NETTASK_OK; /* a 404 is a successful task */

  /* Bad input never reaches the network: it is refused with a sentence. */
  nettask_request_options bad;
  nettask_request_options_init(&bad);
  bad.url = "ftp://127.0.0.1/file";
  nettask_task *task = NULL;
  nettask_code code = nettask_request_create(client, &bad, &task);
  printf("> ftp:// is refused: %s: %s\n", nettask_code_name(code), nettask_last_error());
  failures += code != NETTASK_E_INVALID_ARGUMENT;

  nettask_client_free(client);
  printf(failures ? "FAILED\n" : "all requests done\n");
  return failures ? 1 : 0;
}
