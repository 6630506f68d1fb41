// nettask from C++: the header compiles with -pedantic, a capture-less
// lambda is a listener, and a std::promise carries the completion back.
//
//   usage: cxx BASE_URL     (the loopback test server)
#include <nettask.h>

#include <cstdio>
#include <cstring>
#include <future>
#include <string>

struct Outcome {
  nettask_code code;
  int status;
  std::string body;
};

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
    return 2;
  }
  std::string url = std::string(argv[1]) + "/hello";
  nettask_request_options opts;
  nettask_request_options_init(&opts);
  opts.url = url.c_str();
  nettask_task *task = nullptr;
  if (nettask_request_create(nettask_client_default(), &opts, &task) != NETTASK_OK) {
    std::fprintf(stderr, "create: %s\n", nettask_last_error());
    return 1;
  }
  std::promise<Outcome> done;
  nettask_on_complete(
      task,
      [](nettask_task *, const nettask_result *r, void *user_data) {
        // Copy out: `r` is only valid during this call.
        auto *promise = static_cast<std::promise<Outcome> *>(user_data);
        promise->set_value({r->code, r->status_code,
                            std::string(reinterpret_cast<const char *>(r->data), r->data_len)});
      },
      &done);
  nettask_start(task);
  Outcome out = done.get_future().get();
  nettask_release(task);
  std::printf("%s %d %s\n", nettask_code_name(out.code), out.status, out.body.c_str());

  nettask_request_options bad;
  nettask_request_options_init(&bad);
  bad.url = "ftp://127.0.0.1/";
  nettask_task *refused = nullptr;
  bool refused_ok = nettask_request_create(nettask_client_default(), &bad, &refused) ==
                        NETTASK_E_INVALID_ARGUMENT &&
                    std::strlen(nettask_last_error()) > 0;
  return out.code == NETTASK_OK && out.status == 200 && out.body == "hello world" && refused_ok ? 0 : 1;
}
